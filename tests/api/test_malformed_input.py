"""No input, however malformed, yields a 5xx."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals.models import Attachment
from tests.api.conftest import token_client
from tests.api.scenarios import at_department_head, draft

pytestmark = pytest.mark.django_db

GETS = [
    "/api/v1/changes/?page=abc",
    "/api/v1/changes/?page=999999999999999999999",
    "/api/v1/changes/?page_size=-5",
    "/api/v1/changes/?page_size=99999999999999999999",
    "/api/v1/changes/?requester=%00",
    "/api/v1/changes/?search=%00x",
    "/api/v1/changes/?department=" + "D" * 500,
    "/api/v1/changes/?ordering=-created_at,updated_at,nope",
    "/api/v1/changes/1.5/",
    "/api/v1/changes/-1/audit/",
    "/api/v1/changes/%00/",
    "/api/v1/audit-events/?change=99999999999999999999999",
    "/api/v1/audit-events/?cursor=not-a-cursor",
    "/api/v1/audit-events/?since=2026-02-30T00:00:00Z",
    "/api/v1/audit-events/?actor=%00",
    "/api/v1/audit-events/export/?format=json&change=1e9",
    "/api/v1/inbox/?page=0",
    "/api/v1/departments/?page=2",
    "/api/v1/no-such-endpoint/",
]


@pytest.mark.parametrize("path", GETS)
def test_malformed_queries_answer_4xx_or_200(demo, path):
    response = token_client("audrey").get(path)
    assert response.status_code < 500
    assert response["Content-Type"].startswith("application/json")


BODIES = [
    {"title": 5, "description": ["x"], "change_type": None, "impact": {}},
    {
        "title": "t",
        "description": "d",
        "change_type": "normal",
        "impact": "low",
        "template": 10**30,
    },
    {
        "title": "t",
        "description": "d",
        "change_type": "normal",
        "impact": "low",
        "departments": [1, 2],
    },
    {
        "title": "t",
        "description": "d",
        "change_type": "normal",
        "impact": "low",
        "implementer": ["ivan"],
    },
    {"title": "t\x00", "description": "d", "change_type": "normal", "impact": "low"},
    {
        "title": "t",
        "description": "d",
        "change_type": "normal",
        "impact": "low",
        "planned_start": "0000-00-00T00:00:00Z",
    },
    {
        "title": "t",
        "description": "d",
        "change_type": "normal",
        "impact": "low",
        "planned_start": "9999-12-31T23:59:59-12:00",
    },
]


@pytest.mark.parametrize("payload", BODIES)
def test_malformed_bodies_are_400(demo, payload):
    response = token_client("alice").post("/api/v1/changes/", payload, format="json")
    assert response.status_code == 400, response.json()


def test_a_non_json_content_type_is_refused_cleanly(demo):
    response = token_client("alice").generic(
        "POST", "/api/v1/changes/", "title=t", "application/x-yaml"
    )
    assert response.status_code == 415


def test_an_action_on_a_change_id_too_large_for_the_database_is_404(demo):
    response = token_client("alice").post("/api/v1/changes/9223372036854775807999/submit/")
    assert response.status_code == 404


def test_a_repeated_upload_with_one_key_attaches_once(demo):
    change = draft()
    client = token_client("alice")
    answers = []
    for _ in range(2):
        upload = SimpleUploadedFile("plan.txt", b"same bytes", content_type="text/plain")
        answers.append(
            client.post(
                f"/api/v1/changes/{change.pk}/attachments/",
                {"file": upload},
                format="multipart",
                HTTP_IDEMPOTENCY_KEY="upload-1",
            )
        )
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert Attachment.objects.filter(change=change).count() == 1
    other = SimpleUploadedFile("plan.txt", b"other bytes", content_type="text/plain")
    refused = client.post(
        f"/api/v1/changes/{change.pk}/attachments/",
        {"file": other},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )
    assert refused.status_code == 422


def test_a_number_given_as_a_comment_is_kept_as_text(demo):
    change = at_department_head()
    response = token_client("hank").post(
        f"/api/v1/changes/{change.pk}/approve/", {"comment": 12}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["route"][0]["decisions"][0]["comment"] == "12"
