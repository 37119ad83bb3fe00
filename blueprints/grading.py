"""Service Bus triggers: grade one section per message; record dead-lettered messages."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from bootstrap import app_root

bp = new_blueprint()


@bp.service_bus_queue_trigger(
    arg_name="msg", queue_name="%READYCHECK_GRADING_QUEUE%", connection="READYCHECK_SERVICEBUS"
)
def grade_section(msg: func.ServiceBusMessage) -> None:
    """Grade one section; an exception abandons the message (retry, then the broker dead-letters it)."""
    from shared.grading_flow import GradingWork, handle_grading_message

    trace = {
        k: str(v) for k, v in (msg.application_properties or {}).items() if k in ("traceparent", "tracestate")
    }
    handle_grading_message(app_root().services, GradingWork.from_json(msg.get_body()), trace)


@bp.service_bus_queue_trigger(
    arg_name="msg",
    queue_name="%READYCHECK_GRADING_QUEUE%/$DeadLetterQueue",
    connection="READYCHECK_SERVICEBUS",
)
def record_dead_letter(msg: func.ServiceBusMessage) -> None:
    """A dead-lettered section: its submission ends ``failed``; the message is kept for replay."""
    from shared.grading_flow import record_dead_letter as record

    reason, description = msg.dead_letter_reason or "", msg.dead_letter_error_description or ""
    record(app_root().services, msg.get_body(), msg.message_id or "", reason, description)
