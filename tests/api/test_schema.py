"""The OpenAPI schema is valid, covers API.md, and the running API keeps to it (schemathesis)."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
import yaml
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import token_client
from tests.api.scenarios import approved, at_department_head, draft

pytestmark = pytest.mark.django_db

# Every path API.md names (its action table expanded): the contract integrators build against.
ACTIONS = (
    "submit",
    "assess",
    "approve",
    "reject",
    "request_info",
    "reassign",
    "reschedule",
    "withdraw",
    "start",
    "complete",
    "feedback",
    "comment",
)
API_MD_PATHS = {
    ("/api/v1/auth/token/", "post"),
    ("/api/v1/changes/", "get"),
    ("/api/v1/changes/", "post"),
    ("/api/v1/changes/{id}/", "get"),
    ("/api/v1/changes/{id}/", "patch"),
    *{(f"/api/v1/changes/{{id}}/{action}/", "post") for action in ACTIONS},
    ("/api/v1/inbox/", "get"),
    ("/api/v1/changes/{id}/audit/", "get"),
    ("/api/v1/audit-events/", "get"),
    ("/api/v1/audit-events/export/", "get"),
    ("/api/v1/audit/verify/", "get"),
    ("/api/v1/audit/verify/", "post"),
    ("/api/v1/audit/verify/{run_id}/", "get"),
    ("/api/v1/audit-snapshots/", "get"),
    ("/api/v1/delegations/", "get"),
    ("/api/v1/delegations/", "post"),
    ("/api/v1/delegations/{id}/", "delete"),
    ("/api/v1/departments/", "get"),
    ("/api/v1/policies/", "get"),
    ("/api/v1/templates/", "get"),
    ("/api/v1/me/", "get"),
}
CHANGE_FILTERS = {"state", "change_type", "impact", "requester", "department", "search", "ordering"}
AUDIT_FILTERS = {"change", "actor", "action", "since", "until"}
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
EXAMPLES_PER_OPERATION = 6


@pytest.fixture
def openapi() -> dict[str, Any]:
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi_without_warnings(tmp_path):
    # --validate checks against the OpenAPI 3 specification; --fail-on-warn refuses any view
    # whose request or response drf-spectacular could not work out.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    assert (tmp_path / "s.yaml").stat().st_size > 10_000


def test_schema_has_every_path_of_the_contract(openapi):
    offered = {(path, method) for path, item in openapi["paths"].items() for method in item}
    assert API_MD_PATHS - offered == set()


def test_schema_documents_filters_errors_and_idempotency(openapi):
    paths = openapi["paths"]

    def params(path: str, method: str) -> set[str]:
        return {p["name"] for p in paths[path][method].get("parameters", [])}

    assert CHANGE_FILTERS | {"page", "page_size"} <= params("/api/v1/changes/", "get")
    assert AUDIT_FILTERS | {"cursor"} <= params("/api/v1/audit-events/", "get")
    assert AUDIT_FILTERS | {"format"} <= params("/api/v1/audit-events/export/", "get")
    approve = paths["/api/v1/changes/{id}/approve/"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "412", "429"} <= set(approve["responses"])
    assert "If-Match" in params("/api/v1/changes/{id}/approve/", "post")
    body = approve["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert "step" in openapi["components"]["schemas"][body]["properties"]
    for path, item in paths.items():
        for method, operation in item.items():
            assert "401" in operation["responses"] and "429" in operation["responses"], path
            if method == "post" and path != "/api/v1/auth/token/":
                assert "Idempotency-Key" in params(path, method), path
    conflict = openapi["components"]["schemas"]["Conflict"]
    assert set(conflict["properties"]) == {"detail", "code"}


def test_docs_page_is_served(demo):
    assert APIClient().get("/api/docs/").status_code == 200


def _seed_some_changes() -> None:
    draft()
    at_department_head()
    approved()


@contextmanager
def _connection_kept_open() -> Iterator[None]:
    """Calling the WSGI app directly would close the database connection after each request
    (and with it the test's transaction); Django's test client avoids that the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(openapi: dict[str, Any], username: str) -> list[str]:
    """Run every operation with generated input as `username`; return the failures."""
    schema = schemathesis.from_dict(openapi, app=get_wsgi_application())
    token = token_client(username)._credentials["HTTP_AUTHORIZATION"]
    failures: list[str] = []
    with _connection_kept_open():
        for result in schema.get_all_operations():
            _fuzz_operation(result.ok(), token, failures)
    return failures


def _fuzz_operation(operation: Any, token: str, failures: list[str]) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        headers = {"Authorization": token}
        if case.operation.method.upper() == "POST":
            headers["Idempotency-Key"] = re.sub(r"\W", "", repr(case.body))[:200] or "k"
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # collect, so one report names every broken operation
            failures.append(f"{case.operation.verbose_name}: {str(exc)[:400]} … {str(exc)[-600:]}")

    run()


@pytest.mark.parametrize("username", ["alice", "audrey", "mia"])
def test_generated_requests_never_fail_or_break_the_schema(demo, openapi, username):
    _seed_some_changes()
    failures = _fuzz(openapi, username)
    assert failures == [], "\n\n".join(failures)
