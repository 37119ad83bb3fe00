"""Reading proton's frame trace: the one place the emulator parses proton's text output.

The proton Python binding does not expose a delivery's message format, yet a Service Bus batch is
recognised by exactly that field; the frame trace carries it.
"""

from __future__ import annotations

import re
from collections import defaultdict

from proton import Transport

_TRANSFER_TRACE = re.compile(r"^FRAME:\s*(\d+) <- @transfer\(20\) \[handle=(0x[0-9a-f]+)")
_FORMAT_TRACE = re.compile(r"message-format=(0x[0-9a-f]+)")
_ATTACH_TRACE = re.compile(r"^FRAME:\s*(\d+) <- @attach\(18\) \[name=\"(.*?)\", handle=(0x[0-9a-f]+)")


class FrameFormats:
    """Message formats of incoming transfers, read from proton's frame trace.

    The proton Python binding does not expose a delivery's message format, yet a Service Bus batch is
    recognised by exactly that field, so each new delivery's format is queued per link name.
    """

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}
        self._continuing: set[tuple[str, str]] = set()
        self.formats: dict[str, list[int]] = defaultdict(list)

    def trace(self, _transport: Transport, line: str) -> None:
        """Record attaches (handle -> link name) and the format of each delivery's first transfer."""
        match = _ATTACH_TRACE.match(line)
        if match:
            self._names[(match.group(1), match.group(3))] = match.group(2)
            return
        match = _TRANSFER_TRACE.match(line)
        if not match:
            return
        key = (match.group(1), match.group(2))
        name = self._names.get(key)
        if name is None:
            return
        # Only the performative matters; the payload that follows "] (size)" is message bytes.
        performative = line.split("] (", 1)[0]
        if key not in self._continuing:
            found = _FORMAT_TRACE.search(performative)
            self.formats[name].append(int(found.group(1), 16) if found else 0)
        if "more=true" in performative:
            self._continuing.add(key)
        else:
            self._continuing.discard(key)

    def pop(self, link_name: str) -> int:
        """The message format of the oldest unread delivery on a link."""
        queue = self.formats.get(link_name)
        return queue.pop(0) if queue else 0


def watch_frame_formats(transport: Transport) -> FrameFormats:
    """Trace a transport's frames into a new FrameFormats, which then knows each delivery's format."""
    frames = FrameFormats()
    transport.trace(Transport.TRACE_FRM)
    transport.tracer = frames.trace
    return frames
