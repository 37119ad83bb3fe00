"""Output values converted as the Python worker converts them, so what fails on Azure fails here.

The worker encodes each output with the converter ``azure.functions`` registers for the binding type
(``blob``, ``queue``, ``serviceBus``, ``http``) and falls back to a generic converter (``str``,
``bytes``, ``bytearray`` only) for types without one, such as ``table``. A value a converter refuses
fails the invocation with the worker's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.functions import meta


@dataclass(frozen=True)
class OutputDatum:
    """An encoded output: ``string``, ``bytes``, ``json`` (text) or ``http`` (the response object)."""

    type: str
    value: Any

    def as_bytes(self) -> bytes:
        """The datum's content as bytes (``string`` and ``json`` as UTF-8)."""
        return self.value if isinstance(self.value, bytes) else str(self.value).encode("utf-8")


class _GenericConverter:
    """The worker's converter for bindings ``azure.functions`` has none for."""

    @classmethod
    def encode(cls, obj: Any, *, expected_type: type | None) -> meta.Datum:
        if isinstance(obj, str):
            return meta.Datum(type="string", value=obj)
        if isinstance(obj, bytes | bytearray):
            return meta.Datum(type="bytes", value=bytes(obj))
        raise NotImplementedError


def encode_output(binding_type: str, value: Any) -> OutputDatum:
    """Encode one output value for ``binding_type``; TypeError with the worker's text if refused."""
    registry: Any = meta.get_binding_registry()  # type: ignore[no-untyped-call]
    converter: Any = registry.get(binding_type) or _GenericConverter
    try:
        datum = converter.encode(value, expected_type=None)
    except NotImplementedError:
        raise TypeError(
            f'unable to encode outgoing TypedData: unsupported type "{binding_type}" '
            f'for Python type "{type(value).__name__}"'
        ) from None
    if binding_type == "http":
        # The host builds the response from the object the function returned.
        return OutputDatum("http", value)
    return OutputDatum(str(datum.type), datum.value)
