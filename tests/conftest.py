"""Shared fixtures; service fixtures live in tests/fixtures/ as plugins."""

pytest_plugins = [
    "tests.fixtures.azurite",
    "tests.fixtures.servicebus",
    "tests.fixtures.functions_host",
]
