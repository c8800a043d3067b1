"""Integrators generate a Python client from the served schema and use it unedited.

openapi-python-client (a dev dependency) generates the package from `/api/schema/` as served by a
live server; the generated client then carries a change from draft to approved.
"""

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from django.utils import timezone

from approvals.demo import DEMO_PASSWORD

PACKAGE = "change_api_client"


def test_every_request_body_is_json_except_the_file_upload(demo):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    bodies = {
        (method, path): sorted(operation["requestBody"]["content"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    multipart = {key for key, types in bodies.items() if types != ["application/json"]}
    assert multipart == {("post", "/api/v1/changes/{id}/attachments/")}
    assert bodies[("post", "/api/v1/changes/{id}/attachments/")] == ["multipart/form-data"]


def test_form_bodies_are_refused_where_json_is_expected(demo):
    from tests.api.conftest import token_client

    response = token_client("alice").post("/api/v1/changes/", {"title": "x"}, format="multipart")
    assert response.status_code == 415


def test_enum_names_are_stable(demo):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    enums = sorted(name for name in schema["components"]["schemas"] if name.endswith("Enum"))
    assert enums == [
        "AllowedActionsEnum",
        "ApproveOutcomeEnum",
        "BlankEnum",
        "CategoryEnum",
        "ChangeTypeEnum",
        "CompleteOutcomeEnum",
        "DecisionEnum",
        "DelegationStatusEnum",
        "EventTypesEnum",
        "LevelEnum",
        "NullEnum",
        "RiskEnum",
        "RouteStepStatusEnum",
        "StateEnum",
        "StepKindEnum",
        "VerifyStatusEnum",
        "WarningKindEnum",
    ]


@pytest.fixture
def generated_client(live_server, demo_tx, tmp_path: Path) -> Iterator[ModuleType]:
    schema = tmp_path / "schema.json"
    schema.write_text(httpx.get(f"{live_server.url}/api/schema/?format=json", timeout=30).text)
    config = tmp_path / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\nproject_name_override: {PACKAGE}\n")
    tools = Path(sys.executable).parent
    subprocess.run(
        [
            str(tools / "openapi-python-client"),
            "generate",
            "--path",
            str(schema),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        check=True,
        capture_output=True,
        # The generator formats its output with ruff, found on PATH.
        env=os.environ | {"PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=120,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_a_generated_client_carries_a_change_from_draft_to_approved(live_server, generated_client):
    def module(name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.{name}")

    models = module("models")
    token_create = module("api.auth.auth_token_create")
    create, submit = (
        module("api.changes.changes_create"),
        module("api.changes.changes_submit_create"),
    )
    assess, approve = (
        module("api.changes.changes_assess_create"),
        module("api.changes.changes_approve_create"),
    )

    def client_for(username: str) -> Any:
        anonymous = generated_client.Client(base_url=live_server.url)
        body = models.TokenRequestRequest(username=username, password=DEMO_PASSWORD)
        token = token_create.sync(client=anonymous, body=body)
        assert isinstance(token, models.Token), token
        return generated_client.AuthenticatedClient(
            base_url=live_server.url, token=token.token, prefix="Token"
        )

    alice, ada = client_for("alice"), client_for("ada")
    start = timezone.now() + timedelta(days=2)
    draft = create.sync(
        client=alice,
        body=models.ChangeWriteRequest(
            title="Rotate the VPN gateway certificates",
            description="Install the renewed certificates on both gateways.",
            change_type=models.ChangeTypeEnum.NORMAL,
            impact=models.LevelEnum.LOW,
            implementer="ivan",
            planned_start=start,
            planned_end=start + timedelta(hours=2),
        ),
    )
    assert isinstance(draft, models.Change), draft
    assert draft.state == models.StateEnum.DRAFT
    change_id = str(draft.id)

    submitted = submit.sync(id=change_id, client=alice)
    assert submitted.state == models.StateEnum.SUBMITTED
    assessed = assess.sync(
        id=change_id,
        client=ada,
        body=models.AssessRequest(impact=models.LevelEnum.LOW, risk=models.RiskEnum.LOW),
    )
    assert assessed.state == models.StateEnum.TIER_APPROVAL

    change = assessed
    for username in ("hank", "mia"):
        step = next(s for s in change.route if s.status == models.RouteStepStatusEnum.PENDING)
        assert step.approvers == [username]
        change = approve.sync(
            id=change_id,
            client=client_for(username),
            body=models.ApproveRequest(step=step.id, comment="Fine by me."),
        )
        assert isinstance(change, models.Change), change
    assert change.state == models.StateEnum.APPROVED
    assert [s.status for s in change.route] == [models.RouteStepStatusEnum.APPROVED] * 2
