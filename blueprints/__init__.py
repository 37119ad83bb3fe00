"""Thin Functions entrypoints: decode the binding, call a core handler with the root's services."""

from __future__ import annotations

import azure.functions as func


def new_blueprint() -> func.Blueprint:
    """An empty blueprint (typed here once: ``func.Blueprint`` is not annotated)."""
    return func.Blueprint()  # type: ignore[no-untyped-call]
