"""Timer (NCRONTAB in READYCHECK_DIGEST_SCHEDULE, 06:00 UTC): the previous UTC day's digest."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from bootstrap import app_root

bp = new_blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%READYCHECK_DIGEST_SCHEDULE%", run_on_startup=False)
def daily_digest(timer: func.TimerRequest) -> None:
    """Write the previous UTC day's digest (the sweeper runs on a timer of its own)."""
    from shared.digest import previous_day, run_digest

    services = app_root().services
    run_digest(services, previous_day(services))
