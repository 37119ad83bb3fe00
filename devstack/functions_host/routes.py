"""Functions HTTP route templates: parameters, optional parts, defaults, constraints, catch-alls."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from devstack.functions_host.config import HostConfigError

_SEGMENT_PARAMETER = re.compile(
    r"\{(\*{0,2})([A-Za-z_][A-Za-z0-9_]*)((?::[^{}?=]+(?:\([^)]*\))?)*)(\?)?(?:=([^}]*))?\}"
)


def _number(kind: type) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            kind(value)
        except ValueError:
            return False
        return True

    return check


def _datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_SIMPLE: dict[str, Callable[[str], bool]] = {
    "int": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**31) <= int(v) < 2**31,
    "long": lambda v: re.fullmatch(r"-?\d+", v) is not None,
    "bool": lambda v: v.lower() in {"true", "false"},
    "decimal": _number(float),
    "double": _number(float),
    "float": _number(float),
    "datetime": _datetime,
    "guid": _guid,
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
}


def _constraint(text: str) -> Callable[[str], bool]:
    match = re.fullmatch(r"([a-z]+)(?:\((.*)\))?", text)
    if match is None:
        raise HostConfigError(f"route constraint '{text}' is not understood")
    kind, argument = match.groups()
    if kind in _SIMPLE and argument is None:
        return _SIMPLE[kind]
    args = [] if argument is None else [a.strip() for a in argument.split(",")]
    checks: dict[str, Callable[[str], bool]] = {
        "minlength": lambda v: len(v) >= int(args[0]),
        "maxlength": lambda v: len(v) <= int(args[0]),
        "length": lambda v: (
            len(v) == int(args[0]) if len(args) == 1 else int(args[0]) <= len(v) <= int(args[1])
        ),
        "min": lambda v: _SIMPLE["long"](v) and int(v) >= int(args[0]),
        "max": lambda v: _SIMPLE["long"](v) and int(v) <= int(args[0]),
        "range": lambda v: _SIMPLE["long"](v) and int(args[0]) <= int(v) <= int(args[1]),
        "regex": lambda v: re.fullmatch(argument or "", v) is not None,
    }
    if kind not in checks or (kind != "regex" and not args):
        raise HostConfigError(f"route constraint '{text}' is not understood")
    return checks[kind]


@dataclass(frozen=True)
class _Parameter:
    name: str
    checks: tuple[Callable[[str], bool], ...]
    optional: bool
    default: str | None
    catch_all: bool


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template such as ``items/{id:int}/{*rest}``."""

    template: str
    segments: tuple[str | _Parameter, ...]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        """Compile a template; an unknown constraint or a misplaced catch-all is an error."""
        segments: list[str | _Parameter] = []
        parts = [p for p in template.strip("/").split("/") if p]
        for index, part in enumerate(parts):
            match = _SEGMENT_PARAMETER.fullmatch(part)
            if match is None:
                if "{" in part or "}" in part:
                    raise HostConfigError(f"route '{template}': segment '{part}' is not supported")
                segments.append(part)
                continue
            stars, name, constraints, optional, default = match.groups()
            if stars and index != len(parts) - 1:
                raise HostConfigError(f"route '{template}': a catch-all must be the last segment")
            checks = tuple(_constraint(c) for c in constraints.split(":") if c)
            segments.append(_Parameter(name, checks, bool(optional), default, bool(stars)))
        return cls(template=template, segments=tuple(segments))

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters when ``path`` (without prefix) matches, else None."""
        parts = [p for p in path.strip("/").split("/") if p]
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if isinstance(segment, str):
                if index >= len(parts) or parts[index].lower() != segment.lower():
                    return None
                continue
            if segment.catch_all:
                rest = "/".join(parts[index:])
                if rest:
                    values[segment.name] = rest
                elif segment.default is not None:
                    values[segment.name] = segment.default
                return values
            if index >= len(parts):
                if not (segment.optional or segment.default is not None):
                    return None
                if segment.default is not None:
                    values[segment.name] = segment.default
                continue
            if not all(check(parts[index]) for check in segment.checks):
                return None
            values[segment.name] = parts[index]
        return values if len(parts) <= len(self.segments) else None
