"""An ordinary v2 app whose functions probe where the local host must behave as Azure's host and worker."""

import io
import json
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="context")
def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Answer with what the invocation context says."""
    document = {"function_name": context.function_name, "invocation_id": context.invocation_id}
    return func.HttpResponse(json.dumps(document), mimetype="application/json")


_BLOB_VALUES: dict[str, Any] = {
    "bytesio": io.BytesIO(b"from a BytesIO"),
    "stringio": io.StringIO("from a StringIO"),
    "dict": {"a": 1},
}


@app.route(route="blob-out/{kind}/{name}")
@app.blob_output(arg_name="out", path="conformance/{name}", connection="Storage")
def blob_out(req: func.HttpRequest, out: func.Out[Any]) -> func.HttpResponse:
    """Set the blob output to the kind of value the route names (a fresh file-like object each time)."""
    kind = req.route_params["kind"]
    value = _BLOB_VALUES[kind]
    if isinstance(value, io.BytesIO):
        value = io.BytesIO(value.getvalue())
    elif isinstance(value, io.StringIO):
        value = io.StringIO(value.getvalue())
    out.set(value)
    return func.HttpResponse("set")


@app.route(route="queue-out/{kind}")
@app.queue_output(arg_name="out", queue_name="conformance-out", connection="Storage")
def queue_out(req: func.HttpRequest, out: func.Out[Any]) -> func.HttpResponse:
    """Set the queue output to a QueueMessage, a dict or a list, as the route says."""
    text = req.params.get("text", "")
    values: dict[str, Any] = {
        "message": func.QueueMessage(body=text),
        "dict": {text: 1},
        "list": [text, text],
    }
    out.set(values[req.route_params["kind"]])
    return func.HttpResponse("set")


@app.route(route="table-out/{id}")
@app.table_output(
    arg_name="out", table_name="conformance", partition_key="p", row_key="{id}", connection="Storage"
)
def table_out(req: func.HttpRequest, out: func.Out[Any]) -> func.HttpResponse:
    """Set the table output to a dict (the worker accepts only str or bytes here)."""
    out.set({"colour": "teal"})
    return func.HttpResponse("set")


@app.route(route="http-unset", binding_arg_name="response")
def http_unset(req: func.HttpRequest, response: func.Out[func.HttpResponse]) -> None:
    """Never set the HTTP output."""


@app.route(route="row/{id}")
@app.table_input(
    arg_name="rows", table_name="conformance", partition_key="p", row_key="{id}", connection="Storage"
)
def row(req: func.HttpRequest, rows: str) -> func.HttpResponse:
    """Return the table input's JSON as it arrived."""
    return func.HttpResponse(rows, mimetype="application/json")


@app.queue_trigger(arg_name="msg", queue_name="conformance-chain", connection="Storage")
@app.blob_output(arg_name="out", path="conformance/chain-{queueTrigger}", connection="Storage")
def chain(msg: func.QueueMessage, out: func.Out[str]) -> None:
    """Record a message written by this host's own queue output."""
    out.set(msg.get_body().decode())


@app.route(route="chain/{text}")
@app.queue_output(arg_name="out", queue_name="conformance-chain", connection="Storage")
def start_chain(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    """Write a queue message that this host's queue trigger picks up."""
    out.set(req.route_params["text"])
    return func.HttpResponse("queued")
