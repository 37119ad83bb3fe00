"""The host-worker channel: length-prefixed pickled frames over a socket pair, and request records."""

from __future__ import annotations

import asyncio
import pickle
import struct
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class HttpRequestData:
    """A ``func.HttpRequest`` as plain data (the SDK's request does not pickle)."""

    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, str]
    route_params: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, request: func.HttpRequest) -> HttpRequestData:
        """Capture a request built by the host."""
        return cls(
            request.method,
            request.url,
            dict(request.headers),
            dict(request.params),
            dict(request.route_params),
            request.get_body(),
        )

    def rebuild(self) -> func.HttpRequest:
        """The request the function receives in the worker."""
        return func.HttpRequest(
            method=self.method,
            url=self.url,
            headers=self.headers,
            params=self.params,
            route_params=self.route_params,
            body=self.body,
        )


@dataclass(frozen=True)
class InvocationRequest:
    """What the host asks a worker to run: one function with its trigger and input values."""

    call_id: int
    invocation_id: str
    function_name: str
    trigger_name: str
    trigger_value: Any
    inputs: dict[str, Any]
    # Output binding types by name ("$return" included), so the worker converts values as Azure's does.
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvocationReply:
    """A worker's answer: converted output values, or the failure the host logs."""

    call_id: int
    error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerReady:
    """The first frame a worker sends once it has indexed the app."""

    pid: int
    functions: tuple[str, ...]


def encode(message: Any) -> bytes:
    """One frame: a 4-byte big-endian length, then the pickled message."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message; raises ``asyncio.IncompleteReadError`` when the peer has gone."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    # Both ends are this program on the same machine: the channel carries nothing untrusted.
    return pickle.loads(await reader.readexactly(length))  # noqa: S301
