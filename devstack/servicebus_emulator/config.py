"""Queue settings read from the official Service Bus emulator's ``Config.json`` format."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


class ConfigError(ValueError):
    """The emulator configuration file is missing, unreadable or invalid; the message says where."""


def parse_duration(text: str, where: str) -> float:
    """Seconds in an ISO 8601 duration such as ``PT1M`` or ``P14D``."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None or text.strip() in ("P", "PT"):
        raise ConfigError(f"{where}: {text!r} is not an ISO 8601 duration like PT1M or P14D")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return (
        parts.get("days", 0.0) * 86400
        + parts.get("hours", 0.0) * 3600
        + parts.get("minutes", 0.0) * 60
        + parts.get("seconds", 0.0)
    )


@dataclass(frozen=True)
class QueueConfig:
    """One queue's properties, with Azure's defaults for those the file leaves out."""

    name: str
    max_delivery_count: int = 10
    lock_duration: float = 60.0
    default_ttl: float = 14 * 86400.0
    dead_letter_on_expiration: bool = False
    requires_duplicate_detection: bool = False
    duplicate_detection_window: float = 600.0
    forward_dead_lettered_to: str | None = None


def _queue(entry: Any, where: str) -> QueueConfig:
    """One ``Queues[]`` entry as a QueueConfig."""
    if not isinstance(entry, dict) or not isinstance(entry.get("Name"), str) or not entry["Name"]:
        raise ConfigError(f"{where}: each queue needs a non-empty string Name")
    name = entry["Name"]
    props = entry.get("Properties") or {}
    if not isinstance(props, dict):
        raise ConfigError(f"{where} ({name}): Properties must be an object")
    here = f"{where} ({name})"
    if props.get("RequiresSession"):
        raise ConfigError(f"{here}: sessions are not emulated; set RequiresSession to false")
    try:
        max_delivery = int(props.get("MaxDeliveryCount", 10))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{here}: MaxDeliveryCount must be a whole number") from err
    if max_delivery < 1:
        raise ConfigError(f"{here}: MaxDeliveryCount must be at least 1")
    return QueueConfig(
        name=name,
        max_delivery_count=max_delivery,
        lock_duration=parse_duration(props.get("LockDuration", "PT1M"), f"{here} LockDuration"),
        default_ttl=parse_duration(
            props.get("DefaultMessageTimeToLive", "P14D"), f"{here} DefaultMessageTimeToLive"
        ),
        dead_letter_on_expiration=bool(props.get("DeadLetteringOnMessageExpiration", False)),
        requires_duplicate_detection=bool(props.get("RequiresDuplicateDetection", False)),
        duplicate_detection_window=parse_duration(
            props.get("DuplicateDetectionHistoryTimeWindow", "PT10M"),
            f"{here} DuplicateDetectionHistoryTimeWindow",
        ),
        forward_dead_lettered_to=props.get("ForwardDeadLetteredMessagesTo") or None,
    )


def load_config(path: Path) -> list[QueueConfig]:
    """The queues of the first namespace in a Config.json file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the file ({err.strerror})") from err
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: line {err.lineno} column {err.colno}: invalid JSON ({err.msg})") from err
    try:
        namespace = document["UserConfig"]["Namespaces"][0]
    except (KeyError, IndexError, TypeError) as err:
        raise ConfigError(f"{path}: expected UserConfig.Namespaces[0]") from err
    if not isinstance(namespace, dict):
        raise ConfigError(f"{path}: UserConfig.Namespaces[0] must be an object")
    queues = namespace.get("Queues") or []
    if namespace.get("Topics"):
        raise ConfigError(f"{path}: topics are not emulated; remove UserConfig.Namespaces[0].Topics")
    result = [_queue(entry, f"{path}: Queues[{i}]") for i, entry in enumerate(queues)]
    names = [q.name.lower() for q in result]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: queue names must be unique (case-insensitive): {', '.join(duplicates)}")
    return result
