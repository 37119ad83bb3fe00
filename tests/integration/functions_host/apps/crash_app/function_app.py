"""A v2 app whose functions end their worker process: native aborts, hard exits, endless work."""

import os
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _end_worker_for(name: str) -> None:
    # os.abort() is what a crashing native extension does (SIGABRT, exit 134 in a shell).
    if name.startswith("abort"):
        os.abort()
    if name.startswith("exit"):
        os._exit(3)


@app.blob_trigger(arg_name="blob", path="crashbox/{name}", connection="Storage")
@app.blob_output(arg_name="out", path="crashbox-done/{name}", connection="Storage")
def on_crash_blob(blob: func.InputStream, out: func.Out[bytes]) -> None:
    """Copy the blob, unless its name asks the worker to die."""
    _end_worker_for((blob.name or "").rsplit("/", 1)[-1])
    out.set(blob.read())


@app.queue_trigger(arg_name="msg", queue_name="crash-queue", connection="Storage")
@app.blob_output(arg_name="out", path="crashbox-done/{queueTrigger}", connection="Storage")
def on_crash_message(msg: func.QueueMessage, out: func.Out[str]) -> None:
    """Record the message as a blob, unless its text asks the worker to die."""
    text = msg.get_body().decode()
    _end_worker_for(text)
    out.set(text)


@app.route(route="end/{how}")
def end_worker(req: func.HttpRequest) -> func.HttpResponse:
    """End the worker as the route says; 'none' answers normally."""
    _end_worker_for(req.route_params["how"])
    return func.HttpResponse(f"worker {os.getpid()} alive")


@app.route(route="sleep/{seconds}")
def sleep(req: func.HttpRequest) -> func.HttpResponse:
    """Work for the given seconds in a synchronous function (longer than functionTimeout times out)."""
    time.sleep(float(req.route_params["seconds"]))
    return func.HttpResponse(f"slept in worker {os.getpid()}")
