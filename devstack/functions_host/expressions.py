"""Binding expressions: ``%SETTING%`` from app settings and ``{name}`` from trigger data."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from devstack.functions_host.config import HostConfigError

_SETTING = re.compile(r"%([^%]+)%")
_PARAMETER = re.compile(r"\{([^{}]+)\}")


class BindingExpressionError(ValueError):
    """A ``{name}`` in a binding has no value in the trigger's data."""


def resolve_settings(text: str, settings: Mapping[str, str]) -> str:
    """Replace every ``%NAME%`` with the app setting NAME; a missing setting is an error."""

    def setting(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in settings:
            raise HostConfigError(f"binding expression %{key}% names a setting that does not exist")
        return settings[key]

    return _SETTING.sub(setting, text)


def resolve_parameters(text: str, data: Mapping[str, Any]) -> str:
    """Replace every ``{name}`` with the trigger's binding data (case-insensitive, dotted paths).

    ``{rand-guid}`` and ``{DateTime}`` are the host's built-in expressions.
    """

    def parameter(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.lower() == "rand-guid":
            return str(uuid.uuid4())
        if expression.lower() == "datetime":
            return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
        return str(_lookup(data, expression))

    return _PARAMETER.sub(parameter, text)


def _lookup(data: Mapping[str, Any], expression: str) -> Any:
    node: Any = data
    for part in expression.split("."):
        if not isinstance(node, Mapping):
            raise BindingExpressionError(f"binding expression {{{expression}}} has no value")
        found = next((v for k, v in node.items() if str(k).lower() == part.lower()), _MISSING)
        if found is _MISSING:
            raise BindingExpressionError(f"binding expression {{{expression}}} has no value")
        node = found
    return node


_MISSING = object()


def resolve_properties(properties: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Every string property of a binding with its ``{name}`` expressions resolved."""
    resolved: dict[str, Any] = {}
    for key, value in properties.items():
        keep_raw = key in {"name", "type", "direction", "connection"}
        resolved[key] = resolve_parameters(value, data) if isinstance(value, str) and not keep_raw else value
    return resolved


def settings_resolved(properties: Mapping[str, Any], settings: Mapping[str, str]) -> dict[str, Any]:
    """Every string property of a binding with its ``%SETTING%`` expressions resolved."""
    return {k: resolve_settings(v, settings) if isinstance(v, str) else v for k, v in properties.items()}


def blob_path_pattern(pattern: str) -> re.Pattern[str]:
    """A regex for a blob trigger path such as ``uploads/{name}.xlsx`` (container included)."""
    regex = ""
    position = 0
    for match in _PARAMETER.finditer(pattern):
        regex += re.escape(pattern[position : match.start()])
        regex += f"(?P<{_group(match.group(1))}>.+?)"
        position = match.end()
    regex += re.escape(pattern[position:])
    return re.compile(regex)


def _group(name: str) -> str:
    if not name.isidentifier():
        raise HostConfigError(f"blob path parameter {{{name}}} must be a plain name")
    return name


def match_blob_path(pattern: str, container: str, blob_name: str) -> dict[str, str] | None:
    """The ``{name}`` values when ``container/blob_name`` matches the pattern, else None."""
    match = blob_path_pattern(pattern).fullmatch(f"{container}/{blob_name}")
    return None if match is None else match.groupdict()


def split_blob_path(path: str) -> tuple[str, str]:
    """``container/some/blob`` as (container, blob name); the container alone has an empty name."""
    container, _, blob_name = path.strip("/").partition("/")
    return container, blob_name
