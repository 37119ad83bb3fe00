"""The one frozen settings object, built once from the environment.

Required keys fail loudly with :class:`~shared.errors.ConfigurationError`; optional keys
have documented defaults (see ``local.settings.sample.json`` and the README).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from shared.errors import ConfigurationError


def _int(env: Mapping[str, str], key: str, default: int, minimum: int = 0) -> int:
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"setting {key} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"setting {key} must be >= {minimum}, got {value}")
    return value


def _required(env: Mapping[str, str], key: str) -> str:
    value = env.get(key, "").strip()
    if not value:
        raise ConfigurationError(f"required setting {key} is missing (see local.settings.sample.json)")
    return value


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Limits that protect the workbook parser from oversized or hostile files."""

    max_upload_bytes: int = 10 * 1024 * 1024
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_rows: int = 100_000
    max_columns: int = 500
    max_zip_entries: int = 1_000
    max_compression_ratio: int = 200

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ParseLimits:
        """Limits from ``READYCHECK_MAX_*`` settings, defaults where absent."""
        d = cls()
        return cls(
            max_upload_bytes=_int(env, "READYCHECK_MAX_UPLOAD_BYTES", d.max_upload_bytes, 1),
            max_uncompressed_bytes=_int(
                env, "READYCHECK_MAX_UNCOMPRESSED_BYTES", d.max_uncompressed_bytes, 1
            ),
            max_rows=_int(env, "READYCHECK_MAX_ROWS", d.max_rows, 1),
            max_columns=_int(env, "READYCHECK_MAX_COLUMNS", d.max_columns, 1),
            max_zip_entries=_int(env, "READYCHECK_MAX_ZIP_ENTRIES", d.max_zip_entries, 1),
            max_compression_ratio=_int(env, "READYCHECK_MAX_COMPRESSION_RATIO", d.max_compression_ratio, 1),
        )


@dataclass(frozen=True, slots=True)
class ReadinessBands:
    """Verdict bands: Ready at or above ``ready``, Almost ready at or above ``almost``."""

    ready: int = 80
    almost: int = 60

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReadinessBands:
        """Bands from ``READYCHECK_READY_PERCENT`` and ``READYCHECK_ALMOST_READY_PERCENT``."""
        d = cls()
        ready = _int(env, "READYCHECK_READY_PERCENT", d.ready)
        almost = _int(env, "READYCHECK_ALMOST_READY_PERCENT", d.almost)
        if not 0 <= almost <= ready <= 100:
            raise ConfigurationError(
                f"readiness bands must satisfy 0 <= almost ({almost}) <= ready ({ready}) <= 100"
            )
        return cls(ready=ready, almost=almost)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the Functions app reads from its environment."""

    storage_connection: str
    servicebus_connection: str
    grading_queue: str = "grading"
    answer_sheets_container: str = "answer-sheets"
    reports_container: str = "reports"
    digests_container: str = "digests"
    table_prefix: str = "readycheck"
    stuck_grading_minutes: int = 30
    max_resend_attempts: int = 3
    limits: ParseLimits = field(default_factory=ParseLimits)
    bands: ReadinessBands = field(default_factory=ReadinessBands)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build the settings from a mapping, failing on a missing required key."""
        return cls(
            storage_connection=_connection(env, "READYCHECK_STORAGE"),
            servicebus_connection=_connection(env, "READYCHECK_SERVICEBUS"),
            grading_queue=env.get("READYCHECK_GRADING_QUEUE", "grading"),
            answer_sheets_container=env.get("READYCHECK_ANSWER_SHEETS_CONTAINER", "answer-sheets"),
            reports_container=env.get("READYCHECK_REPORTS_CONTAINER", "reports"),
            digests_container=env.get("READYCHECK_DIGESTS_CONTAINER", "digests"),
            table_prefix=env.get("READYCHECK_TABLE_PREFIX", "readycheck"),
            stuck_grading_minutes=_int(env, "READYCHECK_STUCK_GRADING_MINUTES", 30, 1),
            max_resend_attempts=_int(env, "READYCHECK_MAX_RESEND_ATTEMPTS", 3, 0),
            limits=ParseLimits.from_env(env),
            bands=ReadinessBands.from_env(env),
        )


def _connection(env: Mapping[str, str], name: str) -> str:
    """A connection setting: either the plain value or the identity-based ``__`` form.

    Returns the connection name's plain value, or the name itself when only the
    identity-based keys (``NAME__serviceUri``, ``NAME__fullyQualifiedNamespace`` ...) exist;
    the adapters resolve those.
    """
    if env.get(name, "").strip():
        return env[name].strip()
    if any(key.startswith(f"{name}__") for key in env):
        return name
    return _required(env, name)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from ``os.environ`` on first use."""
    return Settings.from_env(os.environ)
