"""Settings: connection strings or identity-based connections, flags and failures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BASE = {"READYCHECK_STORAGE": "UseDevelopmentStorage=true", "READYCHECK_SERVICEBUS": "Endpoint=sb://x"}


def test_a_connection_string_is_used_as_is() -> None:
    settings = Settings.from_env(BASE)
    assert settings.storage.connection_string == "UseDevelopmentStorage=true"
    assert not settings.storage.uses_identity


def test_identity_based_settings_give_service_uris_and_the_client_id() -> None:
    env = {
        "READYCHECK_STORAGE__blobServiceUri": "https://acct.blob.core.windows.net",
        "READYCHECK_STORAGE__tableServiceUri": "https://acct.table.core.windows.net",
        "READYCHECK_STORAGE__credential": "managedidentity",
        "READYCHECK_STORAGE__clientId": "0000-client",
        "READYCHECK_SERVICEBUS__fullyQualifiedNamespace": "ns.servicebus.windows.net",
    }
    settings = Settings.from_env(env)
    assert settings.storage.uses_identity
    assert settings.storage.blob_uri == "https://acct.blob.core.windows.net"
    assert settings.storage.table_uri == "https://acct.table.core.windows.net"
    assert settings.storage.client_id == "0000-client"
    assert settings.servicebus.namespace == "ns.servicebus.windows.net"


def test_a_missing_connection_names_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="READYCHECK_SERVICEBUS"):
        Settings.from_env({"READYCHECK_STORAGE": "UseDevelopmentStorage=true"})


def test_easy_auth_flag_accepts_true_and_rejects_nonsense() -> None:
    assert Settings.from_env({**BASE, "READYCHECK_EASY_AUTH_ENABLED": "true"}).easy_auth_enabled
    assert not Settings.from_env(BASE).easy_auth_enabled
    with pytest.raises(ConfigurationError, match="READYCHECK_EASY_AUTH_ENABLED"):
        Settings.from_env({**BASE, "READYCHECK_EASY_AUTH_ENABLED": "maybe"})


def test_the_platform_easy_auth_flag_is_read_from_app_service_only() -> None:
    assert Settings.from_env({**BASE, "WEBSITE_AUTH_ENABLED": "True"}).platform_auth_enabled
    assert not Settings.from_env({**BASE, "WEBSITE_AUTH_ENABLED": "False"}).platform_auth_enabled
    assert not Settings.from_env({**BASE, "READYCHECK_EASY_AUTH_ENABLED": "true"}).platform_auth_enabled


def test_every_setting_the_app_reads_is_in_the_sample_file() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    read: set[str] = set()
    for path in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "blueprints").rglob("*.py")]:
        read |= set(re.findall(r'"((?:READYCHECK|APPLICATIONINSIGHTS)_[A-Z_]+)"', path.read_text()))
        read |= set(re.findall(r"%((?:READYCHECK)_[A-Z_]+)%", path.read_text()))
    assert read
    assert read - set(sample) == set()


def test_the_sample_settings_build() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    settings = Settings.from_env(sample)
    assert settings.grading_queue == "grading"
