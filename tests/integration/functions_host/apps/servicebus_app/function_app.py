"""A small ordinary v2 app with a Service Bus trigger that records what it receives."""

import json
import os
import time
from datetime import UTC, datetime

import azure.functions as func

app = func.FunctionApp()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@app.service_bus_queue_trigger(arg_name="msg", queue_name="%INBOUND_QUEUE%", connection="Bus")
@app.blob_output(arg_name="record", path="sb-results/{MessageId}.json", connection="AzureWebJobsStorage")
def on_message(msg: func.ServiceBusMessage, record: func.Out[str]) -> None:
    """Record every property; 'fail' always fails, 'crash' ends the worker, 'sleep:N' works N seconds."""
    body = msg.get_body().decode()
    started = datetime.now(UTC)
    if body == "fail":
        raise RuntimeError("this message always fails")
    if body == "crash":
        os._exit(1)
    if body.startswith("sleep:"):
        time.sleep(float(body.split(":", 1)[1]))
    record.set(
        json.dumps(
            {
                "body": body,
                "message_id": msg.message_id,
                "correlation_id": msg.correlation_id,
                "content_type": msg.content_type,
                "subject": msg.subject,
                "label": msg.label,
                "reply_to": msg.reply_to,
                "to": msg.to,
                "session_id": msg.session_id,
                "partition_key": msg.partition_key,
                "time_to_live": None if msg.time_to_live is None else msg.time_to_live.total_seconds(),
                "delivery_count": msg.delivery_count,
                "sequence_number": msg.sequence_number,
                "enqueued_time_utc": _iso(msg.enqueued_time_utc),
                "expires_at_utc": _iso(msg.expires_at_utc),
                "locked_until": _iso(msg.locked_until),
                "lock_token": msg.lock_token,
                "application_properties": msg.application_properties,
                "user_properties": msg.user_properties,
                "started": started.isoformat(),
                "finished": datetime.now(UTC).isoformat(),
            }
        )
    )


@app.route(route="send", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.service_bus_queue_output(arg_name="outbox", queue_name="%INBOUND_QUEUE%", connection="Bus")
def send(req: func.HttpRequest, outbox: func.Out[str]) -> func.HttpResponse:
    """Put the request body on the queue through a Service Bus output binding."""
    outbox.set(req.get_body().decode())
    return func.HttpResponse(status_code=202)
