"""Thin Functions entrypoints: decode the binding, call a core handler, map errors."""
