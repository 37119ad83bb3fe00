"""Waiting for asynchronous work in tests: poll a probe, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


def eventually(
    probe: Callable[[], T | Literal[False] | None], timeout: float = 20.0, interval: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with the last value after ``timeout``.

    The result is typed without the ``False`` and ``None`` a probe returns while it waits.
    """
    deadline = time.monotonic() + timeout
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = probe()
    assert value, f"condition not met within {timeout} s (last value {value!r})"
    return value
