"""The API refuses oversized free text, titles over one line and control characters with a 400
naming the field (a 413 for a body over the request limit), and nothing changes."""

import json
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from approvals.limits import DESCRIPTION_MAX, NOTE_MAX, TITLE_MAX
from approvals.models import AuditEvent, ChangeRequest, Comment
from tests.api.conftest import token_client
from tests.api.scenarios import at_department_head, in_submitted
from tests.helpers import open_step_id

pytestmark = pytest.mark.django_db

NEW = {
    "title": "Rotate certificates",
    "description": "Yearly rotation.",
    "change_type": "normal",
    "category": "security",
    "impact": "low",
    "departments": ["IT"],
}


def totals() -> tuple[int, int, int]:
    return ChangeRequest.objects.count(), AuditEvent.objects.count(), Comment.objects.count()


def post(client: APIClient, path: str, data: dict[str, Any]) -> Any:
    # Sent as raw JSON, exactly as an integrator would (no client-side encoding of the test's).
    return client.generic("POST", path, json.dumps(data), content_type="application/json")


def refused(response: Any, status: int, field: str | None, before: tuple[int, int, int]) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    if field is not None:
        assert field in response.json(), response.json()
    assert totals() == before


def test_a_2_4_megabyte_description_is_refused_and_nothing_is_created(demo):
    before = totals()
    response = post(
        token_client("alice"), "/api/v1/changes/", NEW | {"description": "x" * 2_400_000}
    )
    refused(response, 413, None, before)


def test_a_2_4_megabyte_description_is_refused_by_its_own_limit_when_bodies_may_be_larger(
    demo, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024
    before = totals()
    response = post(
        token_client("alice"), "/api/v1/changes/", NEW | {"description": "x" * 2_400_000}
    )
    refused(response, 400, "description", before)


def test_a_description_over_its_limit_is_a_400_naming_it(demo):
    before = totals()
    response = post(
        token_client("alice"),
        "/api/v1/changes/",
        NEW | {"description": "x" * (DESCRIPTION_MAX + 1)},
    )
    refused(response, 400, "description", before)


@pytest.mark.parametrize(
    "title", ["Rotate\nBcc: all@example.com", "Rotate\r\ncertificates", "Rotate\u2028now"]
)
def test_a_title_with_a_line_break_is_refused_and_nothing_is_created(demo, title):
    before = totals()
    response = post(token_client("alice"), "/api/v1/changes/", NEW | {"title": title})
    refused(response, 400, "title", before)
    assert "one line" in response.json()["title"][0]


def test_a_title_over_200_characters_is_refused(demo):
    before = totals()
    response = post(token_client("alice"), "/api/v1/changes/", NEW | {"title": "t" * 201})
    refused(response, 400, "title", before)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"])
def test_control_characters_in_a_description_are_refused(demo, char):
    before = totals()
    response = post(
        token_client("alice"), "/api/v1/changes/", NEW | {"description": f"one{char}two"}
    )
    refused(response, 400, "description", before)


def test_editing_a_draft_into_an_oversized_plan_changes_nothing(demo):
    client = token_client("alice")
    created = post(client, "/api/v1/changes/", NEW)
    assert created.status_code == 201
    before = totals()
    version = created.json()["version"]
    response = client.generic(
        "PATCH",
        f"/api/v1/changes/{created.json()['id']}/",
        json.dumps({"backout_plan": "b" * (NOTE_MAX + 1)}),
        content_type="application/json",
    )
    refused(response, 400, "backout_plan", before)
    assert ChangeRequest.objects.get(pk=created.json()["id"]).version == version


def test_a_2_megabyte_comment_is_refused_and_nothing_changes(demo):
    change = in_submitted()
    before = totals()
    response = post(
        token_client("alice"), f"/api/v1/changes/{change.pk}/comment/", {"text": "c" * 2_000_000}
    )
    refused(response, 413, None, before)


def test_a_comment_over_its_limit_or_with_an_escape_sequence_is_a_400(demo):
    change = in_submitted()
    client = token_client("alice")
    before = totals()
    for text in ("c" * (NOTE_MAX + 1), "look \x1b[31mred\x1b[0m"):
        response = post(client, f"/api/v1/changes/{change.pk}/comment/", {"text": text})
        refused(response, 400, "text", before)


def test_a_decision_comment_with_a_control_character_is_refused_and_nothing_is_decided(demo):
    change = at_department_head()
    before = totals()
    response = post(
        token_client("hank"),
        f"/api/v1/changes/{change.pk}/reject/",
        {"step": open_step_id(change), "comment": "no\x07"},
    )
    refused(response, 400, "comment", before)
    assert ChangeRequest.objects.get(pk=change.pk).state == change.state


def test_a_reassign_reason_over_its_limit_is_refused(demo):
    change = at_department_head()
    before = totals()
    response = post(
        token_client("mia"),
        f"/api/v1/changes/{change.pk}/reassign/",
        {
            "step": open_step_id(change),
            "from": "hank",
            "to": "fiona",
            "reason": "r" * (NOTE_MAX + 1),
        },
    )
    refused(response, 400, "reason", before)


def test_the_schema_announces_the_limits(demo):
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    write = schema["components"]["schemas"]["ChangeWriteRequest"]["properties"]
    assert write["title"]["maxLength"] == TITLE_MAX
    assert write["description"]["maxLength"] == DESCRIPTION_MAX
    comment = schema["components"]["schemas"]["CommentInRequest"]["properties"]
    assert comment["text"]["maxLength"] == NOTE_MAX
