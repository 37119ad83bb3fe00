"""Clients from settings: connection strings, identity-based connections, one cached client each."""

from __future__ import annotations

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.adapters import clients
from shared.errors import ConfigurationError
from shared.settings import Connection

IDENTITY = Connection(
    name="READYCHECK_STORAGE",
    blob_uri="https://acct.blob.core.windows.net",
    table_uri="https://acct.table.core.windows.net",
    client_id="00000000-0000-0000-0000-000000000001",
)


def test_a_user_assigned_identity_is_used_when_a_client_id_is_set() -> None:
    assert isinstance(clients.credential(IDENTITY.client_id), ManagedIdentityCredential)
    assert isinstance(clients.credential(""), DefaultAzureCredential)


def test_identity_based_blob_clients_point_at_the_service_uri_and_are_reused() -> None:
    client = clients.blob_service(IDENTITY)
    assert client.url.startswith("https://acct.blob.core.windows.net")
    assert clients.blob_service(IDENTITY) is client


def test_a_servicebus_client_uses_the_namespace() -> None:
    connection = Connection(name="READYCHECK_SERVICEBUS", namespace="ns.servicebus.windows.net")
    assert clients.servicebus(connection).fully_qualified_namespace == "ns.servicebus.windows.net"


def test_an_identity_connection_without_the_needed_uri_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="READYCHECK_SERVICEBUS__fullyQualifiedNamespace"):
        clients.servicebus(Connection(name="READYCHECK_SERVICEBUS", blob_uri="https://x"))
    with pytest.raises(ConfigurationError, match="READYCHECK_STORAGE__blobServiceUri"):
        clients.blob_service(Connection(name="READYCHECK_STORAGE", namespace="ns"))
