"""App settings (local.settings.json) and host options (host.json) for the local host."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from devstack.azurite import AzuritePorts


class HostConfigError(RuntimeError):
    """The app directory, its settings or host.json cannot be used; the message says where."""


def load_app_settings(
    app_dir: Path, overrides: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The settings the functions see and the local settings' ``Host`` section.

    Like Core Tools, values from local.settings.json do not replace variables already in the
    environment; explicit overrides (``--setting``) win over both.
    """
    path = app_dir / "local.settings.json"
    if not path.exists():
        path = app_dir / "local.settings.sample.json"
    values: dict[str, str] = {}
    host_section: dict[str, Any] = {}
    if path.exists():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise HostConfigError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
        raw_values = document.get("Values", {})
        if not isinstance(raw_values, dict):
            raise HostConfigError(f"{path}: 'Values' must be an object of settings")
        values = {str(k): str(v) for k, v in raw_values.items()}
        host_section = dict(document.get("Host", {}) or {})
    settings = dict(environ)
    for key, value in values.items():
        settings.setdefault(key, value)
    settings.update(overrides)
    return settings, host_section


def parse_timespan(text: str) -> timedelta:
    """A .NET TimeSpan such as ``00:05:00`` or ``1.02:00:00`` as a timedelta."""
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?", text.strip())
    if match is None:
        raise HostConfigError(f"{text!r} is not a TimeSpan (expected [d.]hh:mm:ss)")
    days, hours, minutes, seconds, fraction = match.groups()
    return timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((fraction or "0").ljust(7, "0")[:7]) // 10,
    )


@dataclass(frozen=True)
class ServiceBusOptions:
    """``extensions.serviceBus`` of host.json."""

    max_concurrent_calls: int = 16
    auto_complete_messages: bool = True
    max_auto_lock_renewal: timedelta = timedelta(minutes=5)
    prefetch_count: int = 0


@dataclass(frozen=True)
class QueueOptions:
    """``extensions.queues`` of host.json."""

    max_polling_interval: timedelta = timedelta(seconds=2)
    visibility_timeout: timedelta = timedelta(0)
    max_dequeue_count: int = 5
    batch_size: int = 16
    base64_messages: bool = True


@dataclass(frozen=True)
class BlobOptions:
    """``extensions.blobs`` of host.json."""

    max_degree_of_parallelism: int = 8
    poison_blob_threshold: int = 5


@dataclass(frozen=True)
class HostOptions:
    """What the local host honours from host.json."""

    route_prefix: str = "api"
    function_timeout: timedelta | None = timedelta(minutes=30)
    log_levels: dict[str, str] = field(default_factory=dict)
    service_bus: ServiceBusOptions = ServiceBusOptions()
    queues: QueueOptions = QueueOptions()
    blobs: BlobOptions = BlobOptions()

    def log_level(self, category: str) -> str:
        """The configured level for a category (``Function.<name>``, ``Host.Results`` ...)."""
        # Categories match without case, as in the host's logging configuration.
        levels = {k.lower(): v for k, v in self.log_levels.items()}
        parts = category.lower().split(".")
        for end in range(len(parts), 0, -1):
            level = levels.get(".".join(parts[:end]))
            if level is not None:
                return level
        return levels.get("default", "Information")


class _AnyCase(dict[str, Any]):
    """A host.json object whose keys match without case, as the host's configuration reads them."""

    def __init__(self, node: Mapping[str, Any]) -> None:
        super().__init__((str(k).lower(), v) for k, v in node.items())

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` in any case."""
        return super().get(key.lower(), default)


def _section(document: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    node: Any = document
    for key in keys:
        node = _AnyCase(node).get(key, {}) if isinstance(node, Mapping) else {}
    return _AnyCase(node) if isinstance(node, Mapping) else {}


# An app setting ``AzureFunctionsJobHost__extensions__serviceBus__prefetchCount`` overrides that
# host.json value, as on Azure (keys compared without case, like .NET configuration).
HOST_OVERRIDE_PREFIX = "AzureFunctionsJobHost__"


def load_host_options(app_dir: Path, settings: Mapping[str, str] | None = None) -> HostOptions:
    """Read host.json with the app settings' overrides; no file means the defaults, a bad one an error."""
    path = app_dir / "host.json"
    document: dict[str, Any] = {"version": "2.0"}
    if path.exists():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise HostConfigError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
        if str(document.get("version", "")) != "2.0":
            raise HostConfigError(f"{path}: 'version' must be \"2.0\"")
    overridden = [k for k in settings or {} if k.lower().startswith(HOST_OVERRIDE_PREFIX.lower())]
    for key in overridden:
        _override(document, key[len(HOST_OVERRIDE_PREFIX) :].split("__"), (settings or {})[key])
    try:
        return _host_options(document)
    except (TypeError, ValueError, HostConfigError) as err:
        where = f"{path} with {', '.join(sorted(overridden))}" if overridden else str(path)
        raise HostConfigError(f"{where}: {err}") from None


def _override(document: dict[str, Any], keys: list[str], value: str) -> None:
    """Set ``value`` at the path ``keys``, matching existing keys without case."""
    node = document
    for depth, key in enumerate(keys):
        name = next((k for k in node if k.lower() == key.lower()), key)
        if depth == len(keys) - 1:
            node[name] = value
            return
        child = node.get(name)
        if not isinstance(child, dict):
            child = node[name] = {}
        node = child


def _flag(value: object) -> bool:
    """A host.json boolean, also as the string an app setting gives ("true"/"false")."""
    if isinstance(value, str):
        if value.strip().lower() not in ("true", "false"):
            raise ValueError(f"{value!r} is not true or false")
        return value.strip().lower() == "true"
    return bool(value)


def _host_options(document: Mapping[str, Any]) -> HostOptions:
    timeout_text = document.get("functionTimeout")
    timeout = HostOptions().function_timeout
    if timeout_text is not None:
        timeout = None if str(timeout_text) == "-1" else parse_timespan(str(timeout_text))
    sb = _section(document, "extensions", "serviceBus")
    sb_defaults = ServiceBusOptions()
    queues = _section(document, "extensions", "queues")
    q_defaults = QueueOptions()
    blobs = _section(document, "extensions", "blobs")
    b_defaults = BlobOptions()
    return HostOptions(
        route_prefix=str(_section(document, "extensions", "http").get("routePrefix", "api")).strip("/"),
        function_timeout=timeout,
        log_levels={str(k): str(v) for k, v in _section(document, "logging", "logLevel").items()},
        service_bus=ServiceBusOptions(
            max_concurrent_calls=int(sb.get("maxConcurrentCalls", sb_defaults.max_concurrent_calls)),
            auto_complete_messages=_flag(sb.get("autoCompleteMessages", sb_defaults.auto_complete_messages)),
            max_auto_lock_renewal=parse_timespan(str(sb["maxAutoLockRenewalDuration"]))
            if "maxAutoLockRenewalDuration" in sb
            else sb_defaults.max_auto_lock_renewal,
            prefetch_count=int(sb.get("prefetchCount", sb_defaults.prefetch_count)),
        ),
        queues=QueueOptions(
            max_polling_interval=parse_timespan(str(queues["maxPollingInterval"]))
            if "maxPollingInterval" in queues
            else q_defaults.max_polling_interval,
            visibility_timeout=parse_timespan(str(queues["visibilityTimeout"]))
            if "visibilityTimeout" in queues
            else q_defaults.visibility_timeout,
            max_dequeue_count=int(queues.get("maxDequeueCount", q_defaults.max_dequeue_count)),
            batch_size=int(queues.get("batchSize", q_defaults.batch_size)),
            base64_messages=str(queues.get("messageEncoding", "base64")).lower() == "base64",
        ),
        blobs=BlobOptions(
            max_degree_of_parallelism=int(
                blobs.get("maxDegreeOfParallelism", b_defaults.max_degree_of_parallelism)
            ),
            poison_blob_threshold=int(blobs.get("poisonBlobThreshold", b_defaults.poison_blob_threshold)),
        ),
    )


DEVELOPMENT_STORAGE = AzuritePorts(blob=10000, queue=10001, table=10002).connection_string()


def connection_value(settings: Mapping[str, str], name: str, *, default: str = "AzureWebJobsStorage") -> str:
    """The connection string a binding's ``connection`` names, resolved like the host does.

    The host looks up ``NAME`` and then ``AzureWebJobsNAME``; an empty name means ``default``.
    ``UseDevelopmentStorage=true`` becomes Azurite's well-known endpoints.
    """
    name = name or default
    for key in (name, f"AzureWebJobs{name}"):
        value = settings.get(key, "").strip()
        if value:
            return DEVELOPMENT_STORAGE if value.replace(" ", "") == "UseDevelopmentStorage=true" else value
    raise HostConfigError(
        f"connection setting '{name}' is missing: add it to local.settings.json (Values) or the environment"
    )


def identity_settings(settings: Mapping[str, str], name: str) -> dict[str, str]:
    """The ``NAME__property`` settings of an identity-based connection, by property name."""
    prefix = f"{name}__"
    return {k[len(prefix) :]: v for k, v in settings.items() if k.startswith(prefix) and v.strip()}
