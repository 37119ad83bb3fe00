"""Byte-level handling of encoded AMQP 1.0 messages, so bodies and properties pass through untouched.

``proton.Message`` keeps only one body section and re-encodes everything it decodes, so the broker
splits messages into their sections instead and re-encodes only the sections it must change
(header, message annotations, and application properties when dead-lettering).
"""

from __future__ import annotations

import functools
import struct
import uuid
from dataclasses import dataclass
from typing import Any

from proton import Data, Described, ulong

HEADER = 0x70
DELIVERY_ANNOTATIONS = 0x71
MESSAGE_ANNOTATIONS = 0x72
PROPERTIES = 0x73
APPLICATION_PROPERTIES = 0x74
DATA = 0x75
FOOTER = 0x78
# The message format of the Service Bus batch envelope: each Data section is a whole encoded message.
BATCH_MESSAGE_FORMAT = 0x80013700

_SECTION_NAMES = {
    b"amqp:header:list": HEADER,
    b"amqp:delivery-annotations:map": DELIVERY_ANNOTATIONS,
    b"amqp:message-annotations:map": MESSAGE_ANNOTATIONS,
    b"amqp:properties:list": PROPERTIES,
    b"amqp:application-properties:map": APPLICATION_PROPERTIES,
    b"amqp:data:binary": DATA,
    b"amqp:amqp-sequence:list": 0x76,
    b"amqp:amqp-value:*": 0x77,
    b"amqp:footer:map": FOOTER,
}


class MalformedMessageError(ValueError):
    """The bytes of a transfer are not a well-formed AMQP message."""


def _skip_value(buf: bytes, pos: int) -> int:
    """The offset just past the encoded AMQP value starting at ``pos``."""
    if pos >= len(buf):
        raise MalformedMessageError(f"value expected at byte {pos}, message ends at {len(buf)}")
    code = buf[pos]
    pos += 1
    if code == 0x00:
        return _skip_value(buf, _skip_value(buf, pos))
    width = {0x4: 0, 0x5: 1, 0x6: 2, 0x7: 4, 0x8: 8, 0x9: 16}.get(code >> 4)
    if width is not None:
        end = pos + width
    elif code >> 4 in (0xA, 0xC, 0xE):
        if pos + 1 > len(buf):
            raise MalformedMessageError(f"size expected at byte {pos}")
        end = pos + 1 + buf[pos]
    elif code >> 4 in (0xB, 0xD, 0xF):
        if pos + 4 > len(buf):
            raise MalformedMessageError(f"size expected at byte {pos}")
        end = pos + 4 + struct.unpack_from(">I", buf, pos)[0]
    else:
        raise MalformedMessageError(f"unknown AMQP type code 0x{code:02x} at byte {pos - 1}")
    if end > len(buf):
        raise MalformedMessageError(f"value at byte {pos - 1} runs past the end of the message")
    return end


def _descriptor_code(buf: bytes, pos: int) -> int:
    """The numeric code of the section descriptor at ``pos`` (symbolic descriptors are mapped)."""
    code = buf[pos]
    if code == 0x53:
        return buf[pos + 1]
    if code == 0x80:
        return int(struct.unpack_from(">Q", buf, pos + 1)[0])
    if code in (0xA3, 0xB3):
        start = pos + (2 if code == 0xA3 else 5)
        name = buf[start : _skip_value(buf, pos)]
        if name in _SECTION_NAMES:
            return _SECTION_NAMES[name]
    raise MalformedMessageError(f"unknown section descriptor at byte {pos}")


def split_sections(raw: bytes) -> list[tuple[int, bytes]]:
    """The message's sections in order, each as (section code, its exact encoded bytes)."""
    sections: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(raw):
        if raw[pos] != 0x00:
            raise MalformedMessageError(f"section expected at byte {pos}, found 0x{raw[pos]:02x}")
        end = _skip_value(raw, pos)
        sections.append((_descriptor_code(raw, pos + 1), raw[pos:end]))
        pos = end
    if not sections:
        raise MalformedMessageError("the message has no sections")
    return sections


def binary_content(section: bytes) -> bytes:
    """The payload of a Data section (descriptor, then a vbin8 or vbin32)."""
    pos = _skip_value(section, 1)
    code = section[pos]
    if code == 0xA0:
        return section[pos + 2 : pos + 2 + section[pos + 1]]
    if code == 0xB0:
        size = struct.unpack_from(">I", section, pos + 1)[0]
        return section[pos + 5 : pos + 5 + size]
    raise MalformedMessageError(f"a data section holds type 0x{code:02x}, not binary")


def batch_messages(raw: bytes) -> list[bytes]:
    """The encoded messages inside a batch envelope (one per Data section)."""
    return [binary_content(body) for code, body in split_sections(raw) if code == DATA]


def decode_value(section: bytes) -> Any:
    """The Python value of a described section (its described value, without the descriptor)."""
    data = Data()
    try:
        data.decode(section)
    except Exception as err:  # proton raises its own DataException for bad input
        raise MalformedMessageError(f"cannot decode section: {err}") from err
    data.rewind()
    data.next()
    value = data.get_object()
    return value.value if isinstance(value, Described) else value


def encode_section(code: int, value: Any) -> bytes:
    """An encoded described section with ``value``."""
    data = Data()
    data.put_object(Described(ulong(code), value))
    return bytes(data.encode())


def _decode_primitive(buf: bytes, pos: int) -> Any:
    """A header field: the few scalar encodings a header uses, else proton's decoder."""
    code = buf[pos]
    if code in (0x40, 0x43):
        return None if code == 0x40 else 0
    if code in (0x41, 0x42):
        return code == 0x41
    if code in (0x50, 0x52, 0x56):
        return buf[pos + 1]
    if code == 0x70:
        return struct.unpack_from(">I", buf, pos + 1)[0]
    return decode_value(b"\x00\x53\x77" + buf[pos : _skip_value(buf, pos)])


def _list_items(section: bytes) -> list[tuple[int, int]]:
    """(start, end) offsets of each item of the list a section describes."""
    pos = _skip_value(section, 1)
    code = section[pos]
    if code == 0x45:
        return []
    if code == 0xC0:
        count, pos = section[pos + 2], pos + 3
    elif code == 0xD0:
        count, pos = struct.unpack_from(">I", section, pos + 5)[0], pos + 9
    else:
        raise MalformedMessageError(f"a list section holds type 0x{code:02x}")
    items = []
    for _ in range(count):
        end = _skip_value(section, pos)
        items.append((pos, end))
        pos = end
    return items


def _symbol_text(buf: bytes, start: int, end: int) -> str:
    """The text of an encoded symbol or string (empty for other types)."""
    code = buf[start]
    if code in (0xA3, 0xA1):
        return buf[start + 2 : end].decode("utf-8", "replace")
    if code in (0xB3, 0xB1):
        return buf[start + 5 : end].decode("utf-8", "replace")
    return ""


@dataclass
class ParsedMessage:
    """An incoming message split into what the broker reads and the bytes it must keep."""

    raw: bytes
    ttl_ms: int | None
    durable: bool
    priority: int | None
    # Each sender annotation as (key text, encoded key and value), so it is re-sent byte for byte.
    annotations: list[tuple[str, bytes]]
    properties: bytes
    application_properties: bytes
    rest: bytes

    @functools.cached_property
    def message_id(self) -> str | None:
        """The message id as text, whatever AMQP type it was sent as (decoded only when asked)."""
        if not self.properties:
            return None
        fields = decode_value(self.properties) or []
        value = fields[0] if fields else None
        if value is None:
            return None
        if isinstance(value, bytes | memoryview):
            return bytes(value).hex()
        return str(value)

    @property
    def scheduled_enqueue_ms(self) -> int | None:
        """The ``x-opt-scheduled-enqueue-time`` the sender asked for, in ms since the epoch."""
        for key, entry in self.annotations:
            if key == "x-opt-scheduled-enqueue-time":
                value = decode_value(b"\x00\x53\x77" + entry[_skip_value(entry, 0) :])
                return int(value) if value is not None else None
        return None


def _annotation_entries(section: bytes) -> list[tuple[str, bytes]]:
    """The entries of a message-annotations map, each kept as its encoded bytes."""
    pos = _skip_value(section, 1)
    code = section[pos]
    if code == 0xC1:
        count, pos = section[pos + 2], pos + 3
    elif code == 0xD1:
        count, pos = struct.unpack_from(">I", section, pos + 5)[0], pos + 9
    else:
        raise MalformedMessageError(f"message annotations hold type 0x{code:02x}, not a map")
    entries = []
    for _ in range(count // 2):
        key_end = _skip_value(section, pos)
        end = _skip_value(section, key_end)
        entries.append((_symbol_text(section, pos, key_end), section[pos:end]))
        pos = end
    return entries


def parse_message(raw: bytes) -> ParsedMessage:
    """Split an encoded message into header facts, annotations and untouched sections."""
    raw = bytes(raw)
    ttl: int | None = None
    durable = False
    priority: int | None = None
    annotations: list[tuple[str, bytes]] = []
    properties = b""
    application_properties = b""
    rest = bytearray()
    for code, section in split_sections(raw):
        if code == HEADER:
            header = [_decode_primitive(section, start) for start, _ in _list_items(section)] + [None] * 3
            durable, priority, ttl = bool(header[0]), header[1], header[2]
        elif code == MESSAGE_ANNOTATIONS:
            annotations = _annotation_entries(section)
        elif code == PROPERTIES:
            properties = section
        elif code == APPLICATION_PROPERTIES:
            application_properties = section
        elif code != DELIVERY_ANNOTATIONS:
            rest += section
    return ParsedMessage(
        raw=raw,
        ttl_ms=int(ttl) if ttl is not None else None,
        durable=durable,
        priority=int(priority) if priority is not None else None,
        annotations=annotations,
        properties=properties,
        application_properties=application_properties,
        rest=bytes(rest),
    )


def encode_symbol(text: str) -> bytes:
    """An AMQP symbol."""
    data = text.encode("ascii")
    return (
        b"\xa3" + bytes([len(data)]) if len(data) < 256 else b"\xb3" + struct.pack(">I", len(data))
    ) + data


def encode_string(text: str) -> bytes:
    """An AMQP UTF-8 string."""
    data = text.encode("utf-8")
    return (
        b"\xa1" + bytes([len(data)]) if len(data) < 256 else b"\xb1" + struct.pack(">I", len(data))
    ) + data


def encode_long(value: int) -> bytes:
    """An AMQP long."""
    return b"\x81" + struct.pack(">q", value)


def encode_int(value: int) -> bytes:
    """An AMQP int."""
    return b"\x71" + struct.pack(">i", value)


def encode_timestamp(seconds: float) -> bytes:
    """An AMQP timestamp (ms since the epoch) for a ``time.time()`` value."""
    return b"\x83" + struct.pack(">q", int(seconds * 1000))


def encode_uuid(value: uuid.UUID) -> bytes:
    """An AMQP uuid."""
    return b"\x98" + value.bytes


_UINT_MAX = 2**32 - 1


def _header(parsed: ParsedMessage, delivery_count: int, ttl_ms: int | None) -> bytes:
    """A header section with the sender's durable/priority, the effective ttl and the delivery count."""
    fields = b"".join(
        (
            b"\x41" if parsed.durable else b"\x42",
            b"\x50" + bytes([parsed.priority]) if parsed.priority is not None else b"\x40",
            b"\x70" + struct.pack(">I", ttl_ms) if ttl_ms is not None and ttl_ms <= _UINT_MAX else b"\x40",
            b"\x40",
            b"\x70" + struct.pack(">I", delivery_count),
        )
    )
    return b"\x00\x53\x70\xc0" + bytes([len(fields) + 1, 5]) + fields


def _annotations(parsed: ParsedMessage, broker: dict[str, bytes]) -> bytes:
    """A message-annotations section: the sender's entries the broker does not set, then the broker's."""
    entries = [entry for key, entry in parsed.annotations if key not in broker]
    entries += [encode_symbol(key) + value for key, value in broker.items()]
    body = b"".join(entries)
    return b"\x00\x53\x72\xd1" + struct.pack(">II", len(body) + 4, 2 * len(entries)) + body


def build_message(
    parsed: ParsedMessage,
    *,
    delivery_count: int,
    broker_annotations: dict[str, bytes],
    extra_application_properties: dict[str, str] | None = None,
    ttl_ms: int | None = None,
) -> bytes:
    """The message as the broker delivers it: new header and annotations, every other byte kept.

    ``broker_annotations`` maps annotation names to values already encoded (``encode_long`` etc.);
    ``ttl_ms`` is the time to live in effect (the sender's, capped by the entity's default), as
    Service Bus reports it on every received message.
    """
    application_properties = parsed.application_properties
    if extra_application_properties:
        merged = dict(decode_value(application_properties) or {}) if application_properties else {}
        merged.update(extra_application_properties)
        application_properties = encode_section(APPLICATION_PROPERTIES, merged)
    return b"".join(
        (
            _header(parsed, delivery_count, parsed.ttl_ms if ttl_ms is None else ttl_ms),
            _annotations(parsed, broker_annotations),
            parsed.properties,
            application_properties,
            parsed.rest,
        )
    )


def lock_token_tag(token: uuid.UUID) -> bytes:
    """The delivery tag that carries a lock token (the SDK reads it as little-endian UUID bytes)."""
    return token.bytes_le
