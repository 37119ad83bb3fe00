"""Byte-level handling of encoded AMQP 1.0 messages, so bodies and properties pass through untouched.

``proton.Message`` keeps only one body section and re-encodes everything it decodes, so the broker
splits messages into their sections instead and re-encodes only the sections it must change
(header, message annotations, and application properties when dead-lettering).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import Any

from proton import Data, Described, symbol, timestamp, ubyte, uint, ulong

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


@dataclass
class ParsedMessage:
    """An incoming message split into what the broker reads and the bytes it must keep."""

    raw: bytes
    ttl_ms: int | None
    durable: bool
    priority: int | None
    annotations: dict[Any, Any]
    properties: bytes
    application_properties: bytes
    rest: bytes
    message_id: str | None

    @property
    def scheduled_enqueue_ms(self) -> int | None:
        """The ``x-opt-scheduled-enqueue-time`` the sender asked for, in ms since the epoch."""
        value = self.annotations.get(symbol("x-opt-scheduled-enqueue-time"))
        return int(value) if value is not None else None


def _message_id_text(value: Any) -> str | None:
    """The message id as text, whatever AMQP type it was sent as."""
    if value is None:
        return None
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def parse_message(raw: bytes) -> ParsedMessage:
    """Split an encoded message into header facts, annotations and untouched sections."""
    ttl: int | None = None
    durable = False
    priority: int | None = None
    annotations: dict[Any, Any] = {}
    properties = b""
    application_properties = b""
    rest = bytearray()
    message_id: str | None = None
    for code, section in split_sections(raw):
        if code == HEADER:
            header = list(decode_value(section) or []) + [None] * 5
            durable, priority, ttl = bool(header[0]), header[1], header[2]
        elif code == MESSAGE_ANNOTATIONS:
            annotations = dict(decode_value(section) or {})
        elif code == PROPERTIES:
            properties = section
            fields = decode_value(section) or []
            message_id = _message_id_text(fields[0] if fields else None)
        elif code == APPLICATION_PROPERTIES:
            application_properties = section
        elif code != DELIVERY_ANNOTATIONS:
            rest += section
    return ParsedMessage(
        raw=bytes(raw),
        ttl_ms=int(ttl) if ttl is not None else None,
        durable=durable,
        priority=int(priority) if priority is not None else None,
        annotations=annotations,
        properties=bytes(properties),
        application_properties=bytes(application_properties),
        rest=bytes(rest),
        message_id=message_id,
    )


def build_message(
    parsed: ParsedMessage,
    *,
    delivery_count: int,
    broker_annotations: dict[str, Any],
    extra_application_properties: dict[str, str] | None = None,
) -> bytes:
    """The message as the broker delivers it: new header and annotations, every other byte kept."""
    header = encode_section(
        HEADER,
        [
            parsed.durable,
            ubyte(parsed.priority) if parsed.priority is not None else None,
            uint(parsed.ttl_ms) if parsed.ttl_ms is not None else None,
            None,
            uint(delivery_count),
        ],
    )
    annotations = dict(parsed.annotations)
    annotations.update({symbol(key): value for key, value in broker_annotations.items()})
    application_properties = parsed.application_properties
    if extra_application_properties:
        merged = dict(decode_value(application_properties) or {}) if application_properties else {}
        merged.update(extra_application_properties)
        application_properties = encode_section(APPLICATION_PROPERTIES, merged)
    return b"".join(
        (
            header,
            encode_section(MESSAGE_ANNOTATIONS, annotations),
            parsed.properties,
            application_properties,
            parsed.rest,
        )
    )


def ms_timestamp(seconds: float) -> Any:
    """An AMQP timestamp (ms since the epoch) for a ``time.time()`` value."""
    return timestamp(int(seconds * 1000))


def lock_token_tag(token: uuid.UUID) -> bytes:
    """The delivery tag that carries a lock token (the SDK reads it as little-endian UUID bytes)."""
    return token.bytes_le
