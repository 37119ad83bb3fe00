"""The CI/CD definitions for users' own pipelines: GitHub Actions and Azure Pipelines.

They cannot run here, so they are parsed and held to the rules: the README's test command on every
supported Python, then a deployment with azd signed in through OpenID Connect, behind an approval, with
no stored secret.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.python_version import SUPPORTED

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
AZURE_PIPELINES = ROOT / "azure-pipelines.yml"
# The Pythons make accepts (scripts/python_version.py): every one of them is tested.
SUPPORTED_PYTHONS = {f"{major}.{minor}" for major, minor in SUPPORTED}
SECRET_MARKERS = re.compile(r"secrets\.|client-secret|clientSecret|password|isSecret|creds:", re.IGNORECASE)


def load(path: Path) -> dict[Any, Any]:
    """A YAML document as a mapping (keys are whatever YAML reads: the bare key `on` is True)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path.name} is not a YAML mapping"
    return document


def readme_test_command() -> str:
    """The test command the README gives (CI runs exactly it)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^(make test)\b.*$", readme, re.MULTILINE)
    assert match, "the README names no `make test` command"
    return match.group(1)


def shell_lines(text: str) -> list[str]:
    """The commands of a script, one per line, with folded continuations joined."""
    joined = re.sub(r"\s*\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def workflow_steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    """The steps of one GitHub Actions job."""
    steps: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return steps


def runs_test_command(commands: list[str]) -> bool:
    """True when one of the commands is the README's test command (optionally with make variables)."""
    command = readme_test_command()
    return any(line == command or line.startswith(f"{command} ") for line in commands)


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """A workflow's `on:` (PyYAML reads the bare key `on` as True)."""
    value = workflow.get("on", workflow.get(True))
    assert isinstance(value, dict)
    return value


def all_pipeline_steps(node: Any) -> list[dict[str, Any]]:
    """Every step anywhere in an Azure Pipelines document."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "steps" and isinstance(value, list):
                found.extend(step for step in value if isinstance(step, dict))
            else:
                found.extend(all_pipeline_steps(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(all_pipeline_steps(item))
    return found


@pytest.mark.parametrize("path", [*sorted(WORKFLOWS.glob("*.yml")), AZURE_PIPELINES], ids=lambda p: p.name)
def test_definition_stores_no_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not SECRET_MARKERS.search(text), SECRET_MARKERS.search(text)


def test_github_ci_runs_the_readme_test_command_on_every_supported_python() -> None:
    workflow = load(WORKFLOWS / "ci.yml")
    assert {"push", "pull_request"} <= set(triggers(workflow))
    job = workflow["jobs"]["test"]
    assert set(job["strategy"]["matrix"]["python-version"]) == SUPPORTED_PYTHONS
    steps = workflow_steps(workflow, "test")
    setup = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert setup
    assert setup[0]["with"]["python-version"] == "${{ matrix.python-version }}"
    assert runs_test_command([line for s in steps for line in shell_lines(s.get("run", ""))])


def test_github_ci_only_reads_the_repository() -> None:
    workflow = load(WORKFLOWS / "ci.yml")
    assert workflow["permissions"] == {"contents": "read"}


def test_github_deploy_tests_first_then_deploys_behind_an_environment() -> None:
    workflow = load(WORKFLOWS / "deploy.yml")
    test_steps = workflow_steps(workflow, "test")
    assert runs_test_command([line for s in test_steps for line in shell_lines(s.get("run", ""))])
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test"
    assert deploy["environment"]


def test_github_deploy_signs_in_with_oidc_and_runs_azd() -> None:
    workflow = load(WORKFLOWS / "deploy.yml")
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"]["id-token"] == "write"
    steps = deploy["steps"]
    commands = [line for s in steps for line in shell_lines(s.get("run", ""))]
    login = [c for c in commands if c.startswith("azd auth login")]
    assert login
    assert "--federated-credential-provider github" in login[0]
    assert "azd provision --no-prompt" in commands
    assert "azd deploy --no-prompt" in commands
    az_login = [s for s in steps if str(s.get("uses", "")).startswith("azure/login@")]
    assert az_login
    assert set(az_login[0]["with"]) == {"client-id", "tenant-id", "subscription-id"}


def test_azure_pipeline_tests_on_every_supported_python() -> None:
    pipeline = load(AZURE_PIPELINES)
    (test_stage,) = [s for s in pipeline["stages"] if s["stage"] == "Test"]
    (job,) = test_stage["jobs"]
    versions = {entry["python.version"] for entry in job["strategy"]["matrix"].values()}
    assert versions == SUPPORTED_PYTHONS
    use_python = [s for s in job["steps"] if s.get("task") == "UsePythonVersion@0"]
    assert use_python
    assert use_python[0]["inputs"]["versionSpec"] == "$(python.version)"
    assert runs_test_command([line for s in job["steps"] for line in shell_lines(s.get("script", ""))])


def test_azure_pipeline_deploys_after_tests_behind_an_environment_approval() -> None:
    pipeline = load(AZURE_PIPELINES)
    names = [s["stage"] for s in pipeline["stages"]]
    assert names == ["Test", "Deploy"]
    deploy_stage = pipeline["stages"][1]
    assert deploy_stage["dependsOn"] == "Test"
    (job,) = deploy_stage["jobs"]
    assert "deployment" in job
    assert job["environment"]


def test_azure_pipeline_deploys_with_azd_through_a_federated_service_connection() -> None:
    pipeline = load(AZURE_PIPELINES)
    deploy_steps = all_pipeline_steps(pipeline["stages"][1])
    (cli,) = [s for s in deploy_steps if s.get("task") == "AzureCLI@2"]
    assert cli["inputs"]["azureSubscription"] == "$(AZURE_SERVICE_CONNECTION)"
    commands = shell_lines(cli["inputs"]["inlineScript"])
    assert "azd config set auth.useAzCliAuth true" in commands
    assert commands.index("azd provision --no-prompt") < commands.index("azd deploy --no-prompt")
    variables = {v["name"] for v in pipeline["variables"]}
    assert {"AZURE_SERVICE_CONNECTION", "AZURE_ENV_NAME", "AZURE_LOCATION"} <= variables
