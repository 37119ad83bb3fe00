"""Timer (NCRONTAB in READYCHECK_SWEEP_SCHEDULE, every 5 minutes): recover stalled ingests and grading."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from bootstrap import app_root

bp = new_blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%READYCHECK_SWEEP_SCHEDULE%", run_on_startup=False)
def sweep_stuck_work(timer: func.TimerRequest) -> None:
    """Fail ingests stalled past the limit, re-send or fail submissions stuck in grading."""
    from shared import telemetry
    from shared.grading_flow import sweep_stuck
    from shared.recovery import sweep_stalled_ingests

    services = app_root().services
    stalled = sweep_stalled_ingests(services)
    swept = sweep_stuck(services)
    telemetry.event(
        "sweep done",
        uploads_failed=stalled,
        resent=swept.resent,
        completed=swept.completed,
        failed=swept.failed,
    )
