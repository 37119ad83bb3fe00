"""Offline checks of the Bicep infrastructure: it parses, passes checkov, and keeps to identity-only access.

checkov runs from its own virtual environment (``make install`` builds ``.tools/checkov``; ``make test``
points ``CHECKOV`` at it) with ``--skip-download`` so it never calls its vendor's API. checkov's Bicep
rules do not cover Service Bus, Event Grid or Application Insights, so the identity and secret rules
those resources need are checked here on the parsed templates.
"""

from __future__ import annotations

import functools
import json
import os
import re
import runpy
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.glob("*.bicep")) + sorted((INFRA / "modules").glob("*.bicep"))
SKIP_COMMENT = re.compile(r"//\s*checkov:skip=(?P<id>CKV2?_[A-Z]+_\d+)(?::(?P<reason>.*))?")

# Built-in role definition ids (the same in every tenant).
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
EXPECTED_APP_ROLES = {
    "storage.bicep": {
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",  # Storage Blob Data Owner
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88",  # Storage Queue Data Contributor
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",  # Storage Table Data Contributor
    },
    "servicebus.bicep": {
        "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",  # Azure Service Bus Data Sender
        "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",  # Azure Service Bus Data Receiver
    },
    "monitoring.bicep": {"3913510d-42f4-4e42-8a64-420c390055eb"},  # Monitoring Metrics Publisher
}


@functools.cache
def bicep_parser() -> BicepParser:
    """One parser for the whole run: building its grammar takes about a second."""
    return BicepParser()


@functools.cache
def parse(path: Path) -> Mapping[str, Any]:
    """The template as pycep's JSON model (the parser checkov itself uses)."""
    result: Mapping[str, Any] = bicep_parser().parse(text=path.read_text(encoding="utf-8"))
    return result


def module(name: str) -> Mapping[str, Any]:
    """A parsed module under infra/modules."""
    return parse(INFRA / "modules" / name)


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The configuration of every resource of ``resource_type``, looking through conditions and loops."""
    found = []
    for resource in template.get("resources", {}).values():
        if resource["type"].lower() == resource_type.lower():
            config = resource["config"]
            while "config" in config and "name" not in config:
                config = config["config"]
            found.append(config)
    return found


def strings_in(node: Any) -> Iterator[str]:
    """Every string (keys included) anywhere inside a parsed expression."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_in(item)


def checkov_binary() -> Path | None:
    """The checkov executable: $CHECKOV (set by ``make test``), else the one ``make install`` builds."""
    configured = os.environ.get("CHECKOV")
    candidate = Path(configured) if configured else ROOT / ".tools" / "checkov" / "bin" / "checkov"
    return candidate if candidate.is_file() else None


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    """checkov's JSON report over infra/ (Bicep framework, offline)."""
    binary = checkov_binary()
    if binary is None:
        pytest.skip("checkov is not installed: run `make install` (make test does) to build .tools/checkov")
    command = [str(binary), "--directory", str(INFRA), "--framework", "bicep", "--skip-download", "--compact"]
    completed = subprocess.run(
        [*command, "--output", "json"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.stdout.strip(), f"checkov printed no report; stderr:\n{completed.stderr[-2000:]}"
    report = json.loads(completed.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report.get("check_type") == "bicep", report.get("check_type")
    return dict(report)


def test_every_bicep_file_parses() -> None:
    assert BICEP_FILES, "no Bicep files under infra/"
    for path in BICEP_FILES:
        template = parse(path)
        assert template.get("resources") or template.get("modules"), f"{path.name} declares nothing"


def test_checkov_parses_every_bicep_file(checkov_report: dict[str, Any]) -> None:
    assert checkov_report["summary"]["parsing_errors"] == 0
    scanned = {result["file_path"].lstrip("/") for result in checkov_report["results"]["passed_checks"]}
    assert {"modules/functionapp.bicep", "modules/storage.bicep"} <= scanned


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{r['check_id']} {r['check_name']} ({r['file_path']}: {r['resource']})"
        for r in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []


def test_every_checkov_skip_gives_its_reason() -> None:
    for path in BICEP_FILES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "checkov:skip" not in line:
                continue
            match = SKIP_COMMENT.search(line)
            assert match, f"{path.name}:{number}: malformed skip comment"
            reason = (match["reason"] or "").strip()
            assert len(reason.split()) >= 5, (
                f"{path.name}:{number}: {match['id']} is skipped without a reason"
            )


def test_every_checkov_skip_silences_a_check_that_runs(checkov_report: dict[str, Any]) -> None:
    skipped = {
        (Path(r["file_path"]).name, r["check_id"])
        for r in checkov_report["results"].get("skipped_checks", [])
    }
    for path in BICEP_FILES:
        for match in SKIP_COMMENT.finditer(path.read_text(encoding="utf-8")):
            assert (path.name, match["id"]) in skipped, f"{path.name}: stale skip of {match['id']}"


def test_storage_refuses_shared_keys_and_anonymous_reads() -> None:
    (account,) = resources_of_type(module("storage.bicep"), "Microsoft.Storage/storageAccounts")
    properties = account["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["defaultToOAuthAuthentication"] is True
    assert properties["minimumTlsVersion"] == "TLS1_2"


def test_service_bus_is_standard_with_local_auth_disabled() -> None:
    (namespace,) = resources_of_type(module("servicebus.bicep"), "Microsoft.ServiceBus/namespaces")
    assert namespace["sku"]["name"] == "Standard"
    assert namespace["properties"]["disableLocalAuth"] is True
    (queue,) = resources_of_type(module("servicebus.bicep"), "Microsoft.ServiceBus/namespaces/queues")
    assert queue["properties"]["requiresDuplicateDetection"] is True


def test_application_insights_accepts_only_entra_authenticated_telemetry() -> None:
    (component,) = resources_of_type(module("monitoring.bicep"), "Microsoft.Insights/components")
    assert component["properties"]["DisableLocalAuth"] is True
    assert component["properties"]["WorkspaceResourceId"]


def test_app_identity_gets_exactly_its_data_roles() -> None:
    for name, expected in EXPECTED_APP_ROLES.items():
        template = module(name)
        role_ids = set(
            re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", str(template))
        )
        assert role_ids == expected, name
        assert resources_of_type(template, "Microsoft.Authorization/roleAssignments"), name


def _scoped_types(name: str) -> set[str]:
    """The resource types the app identity's role assignments in one module are scoped to."""
    template = module(name)
    scoped = set()
    for assignment in resources_of_type(template, "Microsoft.Authorization/roleAssignments"):
        target = assignment["scope"]
        if isinstance(target, dict):  # one element of a resource loop, e.g. tables[i]
            target = target["operator"]["operands"]["operand_1"]
        scoped.add(template["resources"][target]["type"])
    return scoped


def test_service_bus_roles_are_granted_on_the_grading_queue_not_the_namespace() -> None:
    assert _scoped_types("servicebus.bicep") == {"Microsoft.ServiceBus/namespaces/queues"}


def test_the_table_role_is_granted_per_table_and_only_host_roles_on_the_account() -> None:
    template = module("storage.bicep")
    table_role = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
    assert template["variables"]["tableDataContributor"]["value"] == table_role
    assert table_role not in template["variables"]["accountRoles"]["value"]
    assert _scoped_types("storage.bicep") == {
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/tableServices/tables",
    }


def test_no_template_grants_a_control_plane_role() -> None:
    for path in BICEP_FILES:
        text = path.read_text(encoding="utf-8")
        for role in (OWNER, CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR):
            assert role not in text, f"{path.name} grants {role}"


def test_role_assignments_name_a_service_principal() -> None:
    for path in BICEP_FILES:
        for assignment in resources_of_type(parse(path), "Microsoft.Authorization/roleAssignments"):
            assert assignment["properties"]["principalType"] == "ServicePrincipal", path.name


def test_no_output_carries_a_key_or_connection_string() -> None:
    suspicious = re.compile(r"key|secret|password|connectionstring|sas", re.IGNORECASE)
    for path in BICEP_FILES:
        for name, output in parse(path).get("outputs", {}).items():
            assert not suspicious.search(name), f"{path.name}: output {name}"
            values = " ".join(strings_in(output["value"]))
            assert not re.search(r"listKeys|ConnectionString|primaryKey", values), (
                f"{path.name}: output {name}"
            )


def test_no_template_takes_a_secret_parameter() -> None:
    for path in BICEP_FILES:
        for name, parameter in parse(path).get("parameters", {}).items():
            decorators = " ".join(strings_in(parameter.get("decorators", [])))
            assert "secure" not in decorators, f"{path.name}: parameter {name} is a secret"


def test_function_app_runs_python_on_flex_consumption_with_its_identity() -> None:
    template = module("functionapp.bicep")
    (plan,) = resources_of_type(template, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    (site,) = resources_of_type(template, "Microsoft.Web/sites")
    assert site["identity"]["type"] == "UserAssigned"
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"]["name"] == "python"
    storage_auth = config["deployment"]["storage"]["authentication"]
    assert storage_auth["type"] == "UserAssignedIdentity"
    assert site["properties"]["httpsOnly"] is True
    allowed = template["parameters"]["pythonVersion"]["decorators"]
    versions = [v for v in strings_in(allowed) if re.fullmatch(r"3\.\d+", v)]
    assert versions
    assert all(tuple(map(int, v.split("."))) >= (3, 11) for v in versions)


def test_publishing_with_basic_credentials_is_off() -> None:
    policies = resources_of_type(
        module("functionapp.bicep"), "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    )
    assert {p["name"] for p in policies} == {"ftp", "scm"}
    assert all(p["properties"]["allow"] is False for p in policies)


def test_easy_auth_leaves_the_webhook_and_exactly_the_anonymous_routes_open() -> None:
    (auth,) = [
        c
        for c in resources_of_type(module("functionapp.bicep"), "Microsoft.Web/sites/config")
        if c["name"] == "authsettingsV2"
    ]
    validation = auth["properties"]["globalValidation"]
    assert validation["unauthenticatedClientAction"] == "Return401"
    # function_app.py runs afresh: a FunctionApp indexes its functions only once per instance.
    app = runpy.run_path(str(ROOT / "function_app.py"))["app"]
    anonymous = {
        f"/api/{binding['route']}"
        for function in app.get_functions()
        for binding in map(json.loads, function.get_raw_bindings())
        if binding["type"] == "httpTrigger" and binding.get("authLevel", "").upper() == "ANONYMOUS"
    }
    assert "/api/health" in anonymous
    assert set(validation["excludedPaths"]) == anonymous | {"/runtime/webhooks/blobs"}


def test_blob_trigger_subscription_delivers_blob_created_events_to_the_blobs_webhook() -> None:
    template = module("blob-trigger-subscription.bicep")
    (subscription,) = resources_of_type(template, "Microsoft.EventGrid/systemTopics/eventSubscriptions")
    properties = subscription["properties"]
    assert properties["destination"]["endpointType"] == "WebHook"
    endpoint = properties["destination"]["properties"]["endpointUrl"]
    assert "/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}" in endpoint
    assert properties["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert properties["filter"]["subjectBeginsWith"] == "/blobServices/default/containers/${containerName}/"
    assert (
        properties["deadLetterWithResourceIdentity"]["deadLetterDestination"]["endpointType"] == "StorageBlob"
    )


def test_parameters_file_feeds_every_required_main_parameter() -> None:
    main = parse(INFRA / "main.bicep")
    required = {name for name, p in main["parameters"].items() if "default" not in p}
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert required <= set(given)
    assert set(given) <= set(main["parameters"])


def test_postdeploy_hook_passes_every_subscription_parameter_from_main_outputs() -> None:
    azure_yaml = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    assert azure_yaml["services"]["api"]["host"] == "function"
    assert azure_yaml["infra"]["path"] == "infra"
    subscription_params = set(module("blob-trigger-subscription.bicep")["parameters"])
    main_outputs = set(parse(INFRA / "main.bicep")["outputs"])
    for platform, hook in azure_yaml["hooks"]["postdeploy"].items():
        script = hook["run"]
        assert "infra/modules/blob-trigger-subscription.bicep" in script, platform
        passed = dict(re.findall(r"(\w+)=\"?\$(?:env:)?\{?(\w+)", script))
        assert set(passed) == subscription_params, platform
        assert set(passed.values()) <= main_outputs, platform
