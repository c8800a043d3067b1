"""Every demo role × every endpoint and action, from one table (API.md: 2xx/401/403/404/409)."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.api.conftest import token_client
from tests.api.scenarios import SCENARIOS

pytestmark = pytest.mark.django_db

ROLES = ("alice", "ada", "hank", "tom", "carl", "mia", "ivan", "audrey", "anon")


def expect(default: int, **cells: int) -> dict[str, int]:
    """Expected status per role: `default` unless named; anonymous callers always get 401."""
    return {role: cells.get(role, default) for role in ROLES} | {"anon": 401}


WRITERS = expect(200, audrey=403)  # any non-auditor who can see the change
ONLY_AUDITOR = expect(403, audrey=200)

# name: (method, path, scenario or None, body, expected status per role)
MATRIX: dict[str, tuple[str, str, str | None, dict[str, Any] | None, dict[str, int]]] = {
    "list changes": ("get", "/api/v1/changes/", None, None, expect(200)),
    "create change": (
        "post",
        "/api/v1/changes/",
        None,
        {
            "title": "New",
            "description": "d",
            "change_type": "normal",
            "impact": "low",
            "departments": ["IT"],
        },
        expect(201, audrey=403),
    ),
    # Need to know: a draft never submitted is its requester's alone.
    "read a draft": ("get", "/api/v1/changes/{id}/", "draft", None, expect(404, alice=200)),
    "read a submitted change": (
        "get",
        "/api/v1/changes/{id}/",
        "submitted",
        None,
        expect(200, hank=404, tom=404),
    ),
    "read a change on its route": ("get", "/api/v1/changes/{id}/", "tier", None, expect(200)),
    "read another requester's draft": (
        "get",
        "/api/v1/changes/{id}/",
        "others_draft",
        None,
        expect(404),
    ),
    "edit own draft": (
        "patch",
        "/api/v1/changes/{id}/",
        "draft",
        {"title": "Edited"},
        expect(404, alice=200, audrey=403),
    ),
    "edit a submitted change": (
        "patch",
        "/api/v1/changes/{id}/",
        "submitted",
        {"title": "Edited"},
        expect(409, audrey=403, hank=404, tom=404),
    ),
    "edit an invisible draft": (
        "patch",
        "/api/v1/changes/{id}/",
        "others_draft",
        {"title": "Edited"},
        expect(404, audrey=403),
    ),
    "submit a draft": (
        "post",
        "/api/v1/changes/{id}/submit/",
        "draft",
        None,
        expect(404, alice=200, audrey=403),
    ),
    "submit twice": (
        "post",
        "/api/v1/changes/{id}/submit/",
        "submitted",
        None,
        expect(409, audrey=403, hank=404, tom=404),
    ),
    "assess": (
        "post",
        "/api/v1/changes/{id}/assess/",
        "submitted",
        {"impact": "medium", "risk": "low", "notes": "ok"},
        expect(403, ada=200, hank=404, tom=404),
    ),
    "assess a draft": (
        "post",
        "/api/v1/changes/{id}/assess/",
        "draft",
        {"impact": "medium", "risk": "low"},
        expect(404, alice=409, audrey=403),
    ),
    "approve the open step": (
        "post",
        "/api/v1/changes/{id}/approve/",
        "tier",
        {"comment": "ok"},
        expect(403, hank=200),
    ),
    "reject the open step": (
        "post",
        "/api/v1/changes/{id}/reject/",
        "tier",
        {"comment": "no"},
        expect(403, hank=200),
    ),
    "request information": (
        "post",
        "/api/v1/changes/{id}/request_info/",
        "tier",
        {"comment": "why?"},
        expect(403, hank=200),
    ),
    "approve a draft": (
        "post",
        "/api/v1/changes/{id}/approve/",
        "draft",
        {"comment": "ok"},
        expect(404, alice=409, audrey=403),
    ),
    "withdraw": (
        "post",
        "/api/v1/changes/{id}/withdraw/",
        "submitted",
        {"comment": "not needed"},
        expect(403, alice=200, hank=404, tom=404),
    ),
    "start": (
        "post",
        "/api/v1/changes/{id}/start/",
        "approved",
        None,
        expect(403, ivan=200, tom=404),
    ),
    "start a draft": (
        "post",
        "/api/v1/changes/{id}/start/",
        "draft",
        None,
        expect(404, alice=409, audrey=403),
    ),
    "complete": (
        "post",
        "/api/v1/changes/{id}/complete/",
        "implementing",
        {"outcome": "success", "notes": "done"},
        expect(403, ivan=200, tom=404),
    ),
    "feedback": (
        "post",
        "/api/v1/changes/{id}/feedback/",
        "implemented",
        {"summary": "went well", "lessons": "none"},
        expect(403, ivan=200, alice=200, tom=404),
    ),
    "comment": (
        "post",
        "/api/v1/changes/{id}/comment/",
        "draft",
        {"text": "hello"},
        expect(404, alice=200, audrey=403),
    ),
    "comment on a change on its route": (
        "post",
        "/api/v1/changes/{id}/comment/",
        "tier",
        {"text": "hello"},
        WRITERS,
    ),
    "comment on an invisible change": (
        "post",
        "/api/v1/changes/{id}/comment/",
        "others_draft",
        {"text": "hello"},
        expect(404, audrey=403),
    ),
    "list comments": (
        "get",
        "/api/v1/changes/{id}/comments/",
        "draft",
        None,
        expect(404, alice=200),
    ),
    "list attachments": (
        "get",
        "/api/v1/changes/{id}/attachments/",
        "draft",
        None,
        expect(404, alice=200),
    ),
    "upload an attachment": (
        "post",
        "/api/v1/changes/{id}/attachments/",
        "draft",
        {"file": "upload"},
        expect(404, alice=201, audrey=403),
    ),
    "a change's audit trail": (
        "get",
        "/api/v1/changes/{id}/audit/",
        "tier",
        None,
        expect(200),
    ),
    "an invisible change's audit trail": (
        "get",
        "/api/v1/changes/{id}/audit/",
        "others_draft",
        None,
        expect(404),
    ),
    "inbox": ("get", "/api/v1/inbox/", None, None, expect(200)),
    "audit events": ("get", "/api/v1/audit-events/", None, None, ONLY_AUDITOR),
    "audit export": ("get", "/api/v1/audit-events/export/?format=csv", None, None, ONLY_AUDITOR),
    "audit verify": ("get", "/api/v1/audit/verify/", None, None, ONLY_AUDITOR),
    "audit snapshots": ("get", "/api/v1/audit-snapshots/", None, None, ONLY_AUDITOR),
    "departments": ("get", "/api/v1/departments/", None, None, expect(200)),
    "policies": ("get", "/api/v1/policies/", None, None, expect(200)),
    "templates": ("get", "/api/v1/templates/", None, None, expect(200)),
    "me": ("get", "/api/v1/me/", None, None, expect(200)),
    "list webhooks": ("get", "/api/v1/webhooks/", None, None, expect(403, mia=200)),
    "create a webhook": (
        "post",
        "/api/v1/webhooks/",
        None,
        {"url": "https://hooks.example.com/in", "event_types": ["change.approved"]},
        expect(403, mia=201),
    ),
}

CELLS = [(name, role) for name in MATRIX for role in ROLES]


def _client(role: str) -> APIClient:
    return APIClient() if role == "anon" else token_client(role)


@pytest.mark.parametrize(("name", "role"), CELLS, ids=[f"{n} as {r}" for n, r in CELLS])
def test_permission_matrix(demo, name: str, role: str) -> None:
    method, path, scenario, body, expected = MATRIX[name]
    if scenario is not None:
        path = path.format(id=SCENARIOS[scenario]().pk)
    client = _client(role)
    if body == {"file": "upload"}:
        upload = SimpleUploadedFile("plan.txt", b"the plan", content_type="text/plain")
        response = client.post(path, {"file": upload}, format="multipart")
    else:
        response = getattr(client, method)(path, body, format="json")
    assert response.status_code == expected[role], getattr(response, "data", None)
    if response.status_code == 409:
        assert response.json()["code"] == "invalid_transition"
    if response.status_code == 401:
        assert response["WWW-Authenticate"].startswith("Token")
