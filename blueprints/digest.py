"""Timer (NCRONTAB in READYCHECK_DIGEST_SCHEDULE, 06:00 UTC): yesterday's digest, then the sweep."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="%READYCHECK_DIGEST_SCHEDULE%", run_on_startup=False)
def daily_digest(timer: func.TimerRequest) -> None:
    """Write the previous UTC day's digest and recover submissions stuck in grading."""
    from shared import telemetry
    from shared.adapters.clients import services
    from shared.digest import previous_day, run_digest
    from shared.grading_flow import sweep_stuck

    pipeline = services()
    run_digest(pipeline, previous_day(pipeline))
    swept = sweep_stuck(pipeline)
    telemetry.event("sweep done", resent=swept.resent, completed=swept.completed, failed=swept.failed)
