"""The one frozen settings object, built once from the environment by the composition root (bootstrap.py).

Required keys fail loudly with :class:`~shared.errors.ConfigurationError`; optional keys
have documented defaults (see ``local.settings.sample.json`` and the README).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Limits that protect the workbook parser from oversized or hostile files."""

    max_upload_bytes: int = 10 * 1024 * 1024
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    max_rows: int = 100_000
    max_columns: int = 500
    max_zip_entries: int = 1_000
    max_compression_ratio: int = 200
    # Calamine allocates every cell of a sheet's used range: 5M cells stays far below a worker's memory.
    max_cells: int = 5_000_000

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
            max_cells=_int(env, "READYCHECK_MAX_CELLS", d.max_cells, 1),
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
class Connection:
    """A service connection: a connection string, or identity-based ``NAME__*`` settings.

    Identity-based settings follow the Functions convention: ``NAME__blobServiceUri``,
    ``NAME__queueServiceUri``, ``NAME__tableServiceUri`` (or ``NAME__serviceUri`` for blobs) for
    storage, ``NAME__fullyQualifiedNamespace`` for Service Bus, and optionally
    ``NAME__credential=managedidentity`` with ``NAME__clientId`` for a user-assigned identity.
    """

    name: str
    connection_string: str = ""
    blob_uri: str = ""
    queue_uri: str = ""
    table_uri: str = ""
    namespace: str = ""
    credential: str = ""
    client_id: str = ""

    @property
    def uses_identity(self) -> bool:
        """True when the adapters must authenticate with a Microsoft Entra token."""
        return not self.connection_string

    @classmethod
    def from_env(cls, env: Mapping[str, str], name: str) -> Connection:
        """The connection called ``name``; fails when neither form is configured."""
        plain = env.get(name, "").strip()
        if plain:
            return cls(name=name, connection_string=plain)
        prefix = f"{name}__"
        parts = {k[len(prefix) :].casefold(): v.strip() for k, v in env.items() if k.startswith(prefix)}
        connection = cls(
            name=name,
            blob_uri=parts.get("blobserviceuri", "") or parts.get("serviceuri", ""),
            queue_uri=parts.get("queueserviceuri", ""),
            table_uri=parts.get("tableserviceuri", ""),
            namespace=parts.get("fullyqualifiednamespace", ""),
            credential=parts.get("credential", ""),
            client_id=parts.get("clientid", ""),
        )
        if not (connection.blob_uri or connection.table_uri or connection.namespace):
            raise ConfigurationError(
                f"required setting {name} is missing: set {name} to a connection string or "
                f"{name}__blobServiceUri/__tableServiceUri (storage) or {name}__fullyQualifiedNamespace "
                "(Service Bus) for an identity-based connection (see local.settings.sample.json)"
            )
        return connection


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = env.get(key, "").strip().casefold()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigurationError(f"setting {key} must be true or false, got {raw!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the Functions app reads from its environment."""

    storage: Connection
    servicebus: Connection
    grading_queue: str = "grading"
    answer_sheets_container: str = "answer-sheets"
    reports_container: str = "reports"
    digests_container: str = "digests"
    table_prefix: str = "readycheck"
    stuck_grading_minutes: int = 30
    max_resend_attempts: int = 3
    report_retry_after_seconds: int = 5
    easy_auth_enabled: bool = False
    # Set by App Service itself ("True" when Easy Auth is on), never by the deployment's app settings.
    platform_auth_enabled: bool = False
    reviewer_role: str = "Reviewer"
    app_insights_connection: str = ""
    limits: ParseLimits = field(default_factory=ParseLimits)
    bands: ReadinessBands = field(default_factory=ReadinessBands)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build the settings from a mapping, failing on a missing required key."""
        return cls(
            storage=Connection.from_env(env, "READYCHECK_STORAGE"),
            servicebus=Connection.from_env(env, "READYCHECK_SERVICEBUS"),
            grading_queue=env.get("READYCHECK_GRADING_QUEUE", "grading"),
            answer_sheets_container=env.get("READYCHECK_ANSWER_SHEETS_CONTAINER", "answer-sheets"),
            reports_container=env.get("READYCHECK_REPORTS_CONTAINER", "reports"),
            digests_container=env.get("READYCHECK_DIGESTS_CONTAINER", "digests"),
            table_prefix=env.get("READYCHECK_TABLE_PREFIX", "readycheck"),
            stuck_grading_minutes=_int(env, "READYCHECK_STUCK_GRADING_MINUTES", 30, 1),
            max_resend_attempts=_int(env, "READYCHECK_MAX_RESEND_ATTEMPTS", 3, 0),
            report_retry_after_seconds=_int(env, "READYCHECK_REPORT_RETRY_AFTER_SECONDS", 5, 1),
            easy_auth_enabled=_flag(env, "READYCHECK_EASY_AUTH_ENABLED"),
            platform_auth_enabled=env.get("WEBSITE_AUTH_ENABLED", "").strip().casefold() == "true",
            reviewer_role=env.get("READYCHECK_REVIEWER_ROLE", "Reviewer").strip() or "Reviewer",
            app_insights_connection=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip(),
            limits=ParseLimits.from_env(env),
            bands=ReadinessBands.from_env(env),
        )
