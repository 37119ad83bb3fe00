"""A small ordinary v2 app that exercises HTTP, blob, queue, table and timer bindings."""

import json
import logging
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="items/{id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@app.table_input(
    arg_name="row", table_name="items", partition_key="items", row_key="{id}", connection="Storage"
)
def get_item(req: func.HttpRequest, row: str) -> func.HttpResponse:
    """Return the table row whose key is the route's id (the input is an array of at most one)."""
    rows = json.loads(row)
    if not rows:
        return func.HttpResponse("not found", status_code=404)
    return func.HttpResponse(json.dumps(rows[0]), mimetype="application/json")


@app.route(route="items/{id}", methods=["PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@app.table_output(
    arg_name="out", table_name="items", partition_key="items", row_key="{id}", connection="Storage"
)
def put_item(req: func.HttpRequest, out: func.Out[str]) -> str:
    """Store the body's JSON as a row keyed by the route's id."""
    out.set(json.dumps({"PartitionKey": "items", "RowKey": req.route_params["id"], **req.get_json()}))
    return "stored"


@app.route(route="echo/{word?}/{*rest}", methods=["GET", "POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    """Echo the request (function-level auth)."""
    document = {
        "method": req.method,
        "route": dict(req.route_params),
        "query": dict(req.params),
        "header": req.headers.get("x-probe"),
        "body": req.get_body().decode(),
    }
    return func.HttpResponse(json.dumps(document), mimetype="application/json")


@app.route(route="secret", auth_level=func.AuthLevel.ADMIN)
def secret(req: func.HttpRequest) -> str:
    """Answer only with the master key when keys are configured."""
    return "admin ok"


@app.route(route="copy/{name}", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.blob_input(arg_name="source", path="inbox/{name}", connection="Storage")
@app.blob_output(arg_name="copy", path="copies/{name}", connection="Storage")
def copy_blob(req: func.HttpRequest, source: func.InputStream, copy: func.Out[bytes]) -> func.HttpResponse:
    """Copy a blob, upper-cased, through an input and an output binding."""
    copy.set(source.read().upper())
    return func.HttpResponse(status_code=201)


@app.blob_trigger(arg_name="blob", path="%INBOX_CONTAINER%/{name}.txt", connection="Storage")
@app.blob_output(arg_name="out", path="processed/{name}-{rand-guid}.txt", connection="Storage")
def on_text_blob(blob: func.InputStream, out: func.Out[bytes]) -> None:
    """Write a copy per processing: 'fail*' always fails, 'flaky*' fails twice, 'slow*' takes 0.5 s."""
    content = blob.read()
    name = (blob.name or "").rsplit("/", 1)[-1]
    logging.info("processing %s", name)
    if name.startswith("fail"):
        raise RuntimeError("this blob always fails")
    if name.startswith("flaky") and _attempt(name) <= 2:
        raise RuntimeError("flaky failure")
    if name.startswith("slow"):
        time.sleep(0.5)
    out.set(content)


_ATTEMPTS: dict[str, int] = {}


def _attempt(name: str) -> int:
    _ATTEMPTS[name] = _ATTEMPTS.get(name, 0) + 1
    return _ATTEMPTS[name]


@app.blob_trigger(
    arg_name="blob", path="events/{name}", connection="Storage", source=func.BlobSource.EVENT_GRID
)
@app.blob_output(arg_name="$return", path="event-copies/{name}", connection="Storage")
def on_event_blob(blob: bytes) -> bytes:
    """Copy blobs delivered by Event Grid."""
    return blob


@app.queue_trigger(arg_name="msg", queue_name="work", connection="Storage")
@app.queue_output(arg_name="done", queue_name="work-done", connection="Storage")
def on_work(msg: func.QueueMessage, done: func.Out[str]) -> None:
    """Acknowledge work items; bodies with 'fail' fail every time."""
    text = msg.get_body().decode()
    if "fail" in text:
        raise ValueError("cannot do this work")
    done.set(json.dumps({"item": text, "dequeue_count": msg.dequeue_count}))


@app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *", run_on_startup=False)
@app.blob_output(arg_name="$return", path="timer-runs/{rand-guid}.json", connection="Storage")
def nightly(timer: func.TimerRequest) -> str:
    """Record a run of the nightly timer."""
    return json.dumps({"past_due": timer.past_due})
