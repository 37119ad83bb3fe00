"""A v2 app whose Service Bus function outlasts the queue's lock, to show locks are never left unrenewed."""

import json
import time

import azure.functions as func

app = func.FunctionApp()


@app.service_bus_queue_trigger(arg_name="msg", queue_name="burst", connection="Bus")
@app.blob_output(arg_name="record", path="burst-results/{MessageId}.json", connection="AzureWebJobsStorage")
def on_burst(msg: func.ServiceBusMessage, record: func.Out[str]) -> None:
    """Work for the seconds the body names, then record the delivery count."""
    time.sleep(float(msg.get_body().decode()))
    record.set(json.dumps({"delivery_count": msg.delivery_count}))
