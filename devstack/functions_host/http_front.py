"""The HTTP front of the local host: function routes and keys, the admin API, the blob webhook."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from devstack.functions_host.config import HostOptions
from devstack.functions_host.indexing import FunctionSpec
from devstack.functions_host.invoker import InvocationFailed, Invoker
from devstack.functions_host.listeners import BlobListener, Listener, ListenerContext, http_url
from devstack.functions_host.routes import RouteTemplate


class HttpFront:
    """Serves HTTP functions and the host's own routes; knows the listeners, not how they are run."""

    def __init__(
        self,
        settings: Mapping[str, str],
        options: HostOptions,
        functions: list[FunctionSpec],
        listeners: Mapping[str, Listener],
        context: ListenerContext,
        status: Callable[[], dict[str, Any]],
        track: Callable[[asyncio.Task[None]], None],
    ) -> None:
        self.settings = settings
        self.options = options
        self.functions = functions
        self.listeners = listeners
        self.context = context
        self.invoker: Invoker = context.invoker
        self.status = status
        self.track = track
        self.by_name = {spec.name.lower(): spec for spec in functions}
        self.http_routes = [
            (RouteTemplate.parse(str(spec.trigger.get("route") or spec.name)), spec)
            for spec in functions
            if spec.trigger.type == "httpTrigger" and not spec.unsupported()
        ]

    def _keys(self) -> tuple[str, list[str]]:
        master = self.settings.get("FUNCTIONS_HOST_MASTER_KEY", "").strip()
        function_keys = [
            k.strip() for k in self.settings.get("FUNCTIONS_HOST_FUNCTION_KEYS", "").split(",") if k.strip()
        ]
        return master, function_keys

    def _authorised(self, request: Request, level: str) -> bool:
        master, function_keys = self._keys()
        if level == "anonymous" or not (master or function_keys):
            return True
        given = request.headers.get("x-functions-key") or request.query_params.get("code") or ""
        allowed = [master] if level == "admin" else [master, *function_keys]
        return any(k and hmac.compare_digest(given, k) for k in allowed)

    def app(self) -> Starlette:
        """The HTTP surface: functions under the route prefix, the admin API and the blob webhook."""
        return Starlette(
            routes=[
                Route("/", self._index, methods=["GET"]),
                Route("/admin/host/ping", self._ping, methods=["GET", "POST"]),
                Route("/admin/host/status", self._status, methods=["GET"]),
                Route("/admin/functions", self._functions_metadata, methods=["GET"]),
                Route("/admin/functions/{name}", self._function_metadata, methods=["GET"]),
                Route("/admin/functions/{name}", self._admin_invoke, methods=["POST"]),
                Route("/runtime/webhooks/blobs", self._blob_webhook, methods=["POST"]),
                Route(
                    "/{path:path}",
                    self._http_function,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                ),
            ]
        )

    async def _index(self, request: Request) -> Response:
        return HTMLResponse(
            "<!DOCTYPE html><html><head><title>Your Functions 4.0 app is up and running</title></head>"
            "<body><h1>Your Functions 4.0 app is up and running</h1>"
            "<p>Served by the local host (devstack).</p></body></html>"
        )

    async def _ping(self, request: Request) -> Response:
        return Response(status_code=200)

    def _metadata(self, spec: FunctionSpec, request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        document: dict[str, Any] = {
            "name": spec.name,
            "language": "python",
            "isDisabled": bool(spec.unsupported()),
            "config": {"bindings": [dict(b.properties) for b in (spec.trigger, *spec.inputs, *spec.outputs)]},
            "href": f"{base}/admin/functions/{spec.name}",
        }
        if spec.trigger.type == "httpTrigger":
            document["invoke_url_template"] = http_url(base, spec, self.options)
        return document

    async def _functions_metadata(self, request: Request) -> Response:
        if not self._authorised(request, "admin"):
            return Response(status_code=401)
        return JSONResponse([self._metadata(spec, request) for spec in self.functions])

    async def _function_metadata(self, request: Request) -> Response:
        if not self._authorised(request, "admin"):
            return Response(status_code=401)
        spec = self.by_name.get(request.path_params["name"].lower())
        if spec is None:
            return Response(status_code=404)
        return JSONResponse(self._metadata(spec, request))

    async def _status(self, request: Request) -> Response:
        if not self._authorised(request, "admin"):
            return Response(status_code=401)
        return JSONResponse(self.status())

    async def _http_function(self, request: Request) -> Response:
        prefix = self.options.route_prefix
        path = request.url.path.strip("/")
        if prefix:
            if path != prefix and not path.startswith(prefix + "/"):
                return Response(status_code=404)
            path = path[len(prefix) :]
        for template, spec in self.http_routes:
            params = template.match(path)
            if params is None:
                continue
            methods = [m.upper() for m in spec.trigger.get("methods") or []]
            if methods and request.method not in methods:
                continue
            if not self._authorised(request, str(spec.trigger.get("authLevel", "FUNCTION")).lower()):
                return Response(status_code=401)
            return await self._run_http(request, spec, params)
        return Response(status_code=404)

    async def _run_http(self, request: Request, spec: FunctionSpec, params: dict[str, str]) -> Response:
        body = await request.body()
        query = dict(request.query_params)
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=query,
            route_params=params,
            body=body,
        )
        data: dict[str, Any] = {**query, **params, "Query": query, "Headers": dict(request.headers)}
        try:
            result = await self.invoker.invoke(
                spec, http_request, data, "This function was programmatically called via the host APIs."
            )
        except InvocationFailed:
            return Response(status_code=500)
        http_out = next((b for b in spec.outputs if b.type == "http"), None)
        value = (
            result.return_value
            if http_out is None or http_out.name == "$return"
            else result.outputs.get(http_out.name)
        )
        return _to_response(value)

    async def _admin_invoke(self, request: Request) -> Response:
        if not self._authorised(request, "admin"):
            return Response(status_code=401)
        spec = self.by_name.get(request.path_params["name"].lower())
        if spec is None or spec.trigger.type == "httpTrigger" or spec.name not in self.listeners:
            return JSONResponse(
                {"error": f"no non-HTTP function named {request.path_params['name']!r}"}, status_code=404
            )
        try:
            document = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": 'body must be JSON such as {"input": "..."}'}, status_code=400)
        text = str(document.get("input", "") if isinstance(document, dict) else "")
        value, data = await self.listeners[spec.name].admin_value(text)
        self.track(asyncio.ensure_future(self.context.invoke_quietly(spec, value, data, "Manual trigger")))
        return Response(status_code=202)

    async def _blob_webhook(self, request: Request) -> Response:
        if not self._authorised(request, "admin") and not self._blob_key_ok(request):
            return Response(status_code=401)
        name = request.query_params.get("functionName", "").removeprefix("Host.Functions.")
        listener = self.listeners.get(name)
        if not isinstance(listener, BlobListener):
            return JSONResponse({"error": f"no blob-triggered function named {name!r}"}, status_code=404)
        try:
            events = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "body must be an Event Grid event array"}, status_code=400)
        events = events if isinstance(events, list) else [events]
        if request.headers.get("aeg-event-type") == "SubscriptionValidation":
            code = (events[0].get("data") or {}).get("validationCode") if events else None
            return JSONResponse({"validationResponse": code})
        trigger = listener.trigger
        for event in events:
            blob = trigger.blob_from_event(event)
            if blob is None:
                continue
            try:
                await trigger.process(blob)
            except InvocationFailed:
                # Event Grid redelivers on a failure status.
                return Response(status_code=500)
        return Response(status_code=202)

    def _blob_key_ok(self, request: Request) -> bool:
        key = self.settings.get("FUNCTIONS_HOST_BLOBS_EXTENSION_KEY", "").strip()
        given = request.query_params.get("code", "")
        return bool(key) and hmac.compare_digest(key, given)


def _to_response(value: Any) -> Response:
    """The HTTP response for an HTTP output value (``func.HttpResponse``, ``str`` or unset)."""
    if isinstance(value, func.HttpResponse):
        headers = {k: v for k, v in value.headers.items() if k.lower() != "content-type"}
        media = value.headers.get("content-type") or value.mimetype
        if media and value.charset and "charset" not in media:
            media = f"{media}; charset={value.charset}"
        return Response(value.get_body(), status_code=value.status_code, headers=headers, media_type=media)
    if value is None:
        # An HTTP output left unset: the real host answers 200 with an empty body.
        return Response(status_code=200)
    # The worker's converter let only an HttpResponse or a str through.
    return Response(str(value), media_type="text/plain; charset=utf-8")
