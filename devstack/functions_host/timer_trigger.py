"""Timer triggers: six-field NCRONTAB (seconds first) or TimeSpan schedules, status kept in storage."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from croniter import croniter

from devstack.functions_host.config import HostConfigError, parse_timespan


@dataclass(frozen=True)
class Schedule:
    """A timer schedule that gives the next occurrence after a moment."""

    expression: str
    zone: tzinfo

    @classmethod
    def parse(cls, expression: str, time_zone: str | None) -> Schedule:
        """Validate a schedule: six NCRONTAB fields or a TimeSpan; zone from WEBSITE_TIME_ZONE."""
        zone: tzinfo = UTC
        if time_zone:
            try:
                zone = ZoneInfo(time_zone)
            except (KeyError, ValueError) as err:
                raise HostConfigError(f"WEBSITE_TIME_ZONE {time_zone!r} is not a known time zone") from err
        schedule = cls(expression.strip(), zone)
        if not schedule.is_timespan:
            if len(schedule.expression.split()) != 6:
                raise HostConfigError(
                    f"schedule {expression!r} must have six fields (second minute hour day month weekday)"
                )
            if not croniter.is_valid(schedule.expression, second_at_beginning=True):
                raise HostConfigError(f"schedule {expression!r} is not a valid NCRONTAB expression")
        return schedule

    @property
    def is_timespan(self) -> bool:
        """True for interval schedules such as ``00:00:30``."""
        return re.fullmatch(r"(\d+\.)?\d{1,2}:\d{1,2}:\d{1,2}", self.expression) is not None

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (UTC in, UTC out)."""
        if self.is_timespan:
            return moment + parse_timespan(self.expression)
        local = moment.astimezone(self.zone)
        following = croniter(self.expression, local, second_at_beginning=True).get_next(datetime)
        return following.astimezone(UTC)  # type: ignore[no-any-return]


class TimerStatusStore:
    """Last and next occurrences per timer, kept in ``azure-webjobs-hosts`` like the real host."""

    def __init__(self, hosts_container: Any, host_id: str, function_name: str) -> None:
        self.blob = hosts_container.get_blob_client(f"timers/{host_id}/Host.Functions.{function_name}/status")
        self.container = hosts_container

    def read(self) -> dict[str, str]:
        """The stored status, empty when the timer never ran."""
        try:
            return dict(json.loads(self.blob.download_blob().readall()))
        except ResourceNotFoundError:
            return {}

    def write(self, last: datetime, following: datetime) -> None:
        """Record an occurrence and the next one."""
        with contextlib.suppress(ResourceExistsError):
            self.container.create_container()
        status = {
            "Last": last.isoformat(),
            "Next": following.isoformat(),
            "LastUpdated": datetime.now(UTC).isoformat(),
        }
        self.blob.upload_blob(json.dumps(status).encode(), overwrite=True)


def is_past_due(status: dict[str, str], now: datetime, slack: timedelta = timedelta(seconds=1)) -> bool:
    """True when a stored next occurrence passed while the host was not running."""
    following = status.get("Next")
    return following is not None and datetime.fromisoformat(following) + slack < now
