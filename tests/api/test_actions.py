"""Workflow actions over HTTP: each answers 200 with the updated change (API.md, Actions)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import BlackoutWindow, Comment
from tests.api.conftest import token_client
from tests.api.scenarios import approved, at_department_head, draft, implemented

pytestmark = pytest.mark.django_db


def post(username: str, change_id: int, action: str, body: dict | None = None):
    return token_client(username).post(
        f"/api/v1/changes/{change_id}/{action}/", body or {}, format="json"
    )


def test_a_normal_medium_change_travels_from_draft_to_closed(demo):
    created = token_client("alice").post(
        "/api/v1/changes/",
        {
            "title": "Rotate certificates",
            "description": "Yearly rotation.",
            "change_type": "normal",
            "impact": "medium",
            "implementer": "ivan",
            # a normal change plans its window before submit; this one is open now
            "planned_start": (timezone.now() + timedelta(minutes=5)).isoformat(),
            "planned_end": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    cid = created.json()["id"]
    steps = [
        ("alice", "submit", {}, "submitted"),
        ("ada", "assess", {"impact": "medium", "risk": "medium", "notes": "fine"}, "tier_approval"),
        ("hank", "approve", {"comment": "ok"}, "tier_approval"),
        ("tom", "approve", {}, "final_approval"),
        ("carl", "approve", {"comment": "go"}, "approved"),
        ("ivan", "start", {}, "implementing"),
        ("ivan", "complete", {"outcome": "success", "notes": "done"}, "implemented"),
        ("alice", "feedback", {"summary": "smooth", "lessons": "none"}, "closed"),
    ]
    for username, action, body, state in steps:
        response = post(username, cid, action, body)
        assert response.status_code == 200, (action, response.json())
        assert response.json()["state"] == state, action
    final = response.json()
    assert [s["status"] for s in final["route"]] == ["approved", "approved", "approved"]
    assert final["feedback_summary"] == "smooth"
    assert final["allowed_actions"] == []  # a closed change takes no more comments
    response = post("alice", cid, "comment", {"text": "one more thing"})
    assert response.status_code == 409
    assert not Comment.objects.filter(change_id=cid).exists()


def test_emergency_opens_ecab_on_submit_and_closes_only_after_the_retrospective(demo):
    cid = (
        token_client("alice")
        .post(
            "/api/v1/changes/",
            {
                "title": "Patch exploited hole",
                "description": "Now.",
                "change_type": "emergency",
                "impact": "high",
                "implementer": "ivan",
                "backout_plan": "revert",
                "test_plan": "scan",
            },
            format="json",
        )
        .json()["id"]
    )
    submitted = post("alice", cid, "submit")
    assert submitted.json()["state"] == "final_approval"
    assert post("mia", cid, "approve", {"comment": "go"}).json()["state"] == "approved"
    post("ivan", cid, "start")
    completed = post("ivan", cid, "complete", {"outcome": "failed", "notes": "rolled back"})
    assert completed.json()["state"] == "failed"
    early = post("ivan", cid, "feedback", {"summary": "lessons"})
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    retro = post("carl", cid, "approve", {"comment": "reviewed"})
    assert retro.status_code == 200
    assert post("ivan", cid, "feedback", {"summary": "lessons"}).json()["state"] == "closed"


def test_reject_needs_a_comment_and_ends_the_change(demo):
    change = at_department_head()
    assert post("hank", change.pk, "reject", {}).status_code == 400
    assert "comment" in post("hank", change.pk, "reject", {"comment": " "}).json()
    rejected = post("hank", change.pk, "reject", {"comment": "too risky"})
    assert rejected.json()["state"] == "rejected"
    again = post("hank", change.pk, "approve")
    assert again.status_code == 409


def test_request_info_sends_the_change_back_to_draft_with_a_fresh_route(demo):
    change = at_department_head()
    response = post("hank", change.pk, "request_info", {"comment": "which servers?"})
    assert response.json()["state"] == "draft"
    assert response.json()["route"] == []
    assert (
        "submit"
        in token_client("alice").get(f"/api/v1/changes/{change.pk}/").json()["allowed_actions"]
    )


def test_withdraw(demo):
    change = draft()
    response = post("alice", change.pk, "withdraw", {"comment": "not needed"})
    assert response.json()["state"] == "withdrawn"
    assert post("alice", change.pk, "withdraw").status_code == 409


def test_start_inside_a_blackout_window_is_409(demo):
    change = approved()
    now = timezone.now()
    BlackoutWindow.objects.create(
        name="Audit week", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1)
    )
    shown = token_client("ivan").get(f"/api/v1/changes/{change.pk}/").json()
    assert "start" not in shown["allowed_actions"]
    response = post("ivan", change.pk, "start")
    assert response.status_code == 409
    assert "Audit week" in response.json()["detail"]


def test_feedback_needs_a_summary(demo):
    change = implemented()
    response = post("ivan", change.pk, "feedback", {"lessons": "x"})
    assert response.status_code == 400 and "summary" in response.json()


def test_complete_refuses_an_unknown_outcome(demo):
    change = approved()
    post("ivan", change.pk, "start")
    response = post("ivan", change.pk, "complete", {"outcome": "meh"})
    assert response.status_code == 400 and "outcome" in response.json()


def test_assess_validates_impact_and_risk(demo):
    change = draft()
    post("alice", change.pk, "submit")
    response = post("ada", change.pk, "assess", {"impact": "medium", "risk": "critical"})
    assert response.status_code == 400 and "risk" in response.json()


def test_comment_is_recorded_and_listed(demo):
    change = at_department_head()
    response = post("hank", change.pk, "comment", {"text": "Which window?"})
    assert response.status_code == 200
    assert Comment.objects.get(change=change).text == "Which window?"
    listed = token_client("alice").get(f"/api/v1/changes/{change.pk}/comments/").json()
    assert [(c["author"], c["text"]) for c in listed["results"]] == [("hank", "Which window?")]
    assert post("hank", change.pk, "comment", {"text": ""}).status_code == 400
    assert Comment.objects.filter(change=change).count() == 1


def test_a_draft_never_submitted_takes_no_comment_from_others(demo):
    change = draft()
    response = post("hank", change.pk, "comment", {"text": "Which window?"})
    assert response.status_code == 404  # hank does not even see it
    assert not Comment.objects.filter(change=change).exists()
    assert change.audit_events.count() == 1  # created, nothing more


def test_requester_cannot_approve_their_own_change(demo):
    change = at_department_head()
    response = post("alice", change.pk, "approve")
    assert response.status_code == 403
    assert "Segregation of duties" in response.json()["detail"]


@pytest.mark.parametrize(
    "payload", [[], "text", 42, {"comment": ["a"]}, {"comment": {"x": 1}}, None]
)
def test_wrong_json_types_are_400_never_500(demo, payload):
    change = at_department_head()
    response = token_client("hank").post(
        f"/api/v1/changes/{change.pk}/reject/", payload, format="json"
    )
    assert response.status_code == 400


def test_malformed_json_is_400(demo):
    change = draft()
    response = token_client("alice").generic(
        "POST", f"/api/v1/changes/{change.pk}/comment/", "{not json", "application/json"
    )
    assert response.status_code == 400
