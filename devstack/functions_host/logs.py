"""Host and function logs in the style of Core Tools, with each function's records tagged."""

from __future__ import annotations

import contextvars
import logging
import sys
from datetime import UTC, datetime

from devstack.functions_host.config import HostOptions

CURRENT_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar("function", default=None)
HOST_LOGGER = "devstack.functions_host"

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "information": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}


class _CoreToolsFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        stamp = stamp.replace("+00:00", "Z")
        function = getattr(record, "function_name", None)
        tag = f" [{function}]" if function else ""
        text = f"[{stamp}]{tag} {record.getMessage()}"
        if record.exc_info and function is None:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _FunctionFilter(logging.Filter):
    """Tags records made inside an invocation and applies host.json's ``Function`` levels."""

    def __init__(self, options: HostOptions) -> None:
        super().__init__()
        self.options = options

    def filter(self, record: logging.LogRecord) -> bool:
        function = CURRENT_FUNCTION.get()
        if function is None or record.name.startswith(HOST_LOGGER):
            return True
        record.function_name = f"Functions.{function}"
        level = _LEVELS.get(self.options.log_level(f"Function.{function}").lower(), logging.INFO)
        return record.levelno >= level


def configure_logging(options: HostOptions) -> logging.Logger:
    """Send host and function records to stdout like Core Tools; return the host logger."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_CoreToolsFormatter())
    handler.addFilter(_FunctionFilter(options))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    # SDK wire logs would drown the host's own lines.
    for noisy in ("asyncio", "azure", "uamqp", "urllib3", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    host = logging.getLogger(HOST_LOGGER)
    host.setLevel(_LEVELS.get(options.log_level("Host").lower(), logging.INFO))
    return host
