"""Change requests over HTTP: create, read, edit, list, filter, paginate (API.md contract)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import workflow
from approvals.models import ChangeRequest
from tests.api.conftest import token_client
from tests.api.scenarios import approved, at_department_head, draft, in_submitted, others_draft
from tests.helpers import approve, user

pytestmark = pytest.mark.django_db

NEW = {
    "title": "Upgrade the ticketing database",
    "description": "Move from version 14 to 16.",
    "goal": "Stay supported.",
    "scope": "Ticketing cluster.",
    "expected_impact": "Ten minutes read-only.",
    "change_type": "normal",
    "category": "software_upgrade",
    "impact": "medium",
    "departments": ["FIN"],
    "implementer": "ivan",
    "planned_start": "2026-12-01T20:00:00Z",
    "planned_end": "2026-12-01T22:00:00Z",
    "backout_plan": "Restore the snapshot.",
    "test_plan": "Smoke suite.",
}


def test_creating_a_change_answers_201_with_a_draft_owned_by_the_caller(demo):
    response = token_client("alice").post("/api/v1/changes/", NEW, format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["state"] == "draft" and data["requester"] == "alice"
    assert data["key"] == f"CHG-{data['id']:06d}"
    # the requester's own department is always included
    assert data["departments"] == ["FIN", "IT"]
    assert data["implementer"] == "ivan"
    assert data["planned_start"].startswith("2026-12-01T20:00:00")
    assert data["allowed_actions"] == ["edit", "submit", "withdraw", "comment"]
    assert data["version"] == 1 and data["route"] == []
    for field in NEW:
        assert field in data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"change_type": "urgent"}, "change_type"),
        ({"impact": "huge"}, "impact"),
        ({"departments": "IT"}, "departments"),
        ({"departments": ["NOPE"]}, "departments"),
        ({"implementer": "nobody"}, "implementer"),
        ({"planned_end": "2026-12-01T19:00:00Z"}, "planned_end"),
        ({"planned_start": "yesterday"}, "planned_start"),
        ({"template": 1}, "template"),
        ({"change_type": "standard"}, "template"),
        ({"state": "approved"}, "non_field_errors"),
    ],
)
def test_invalid_input_answers_400_naming_the_field(demo, change, field):
    response = token_client("alice").post("/api/v1/changes/", NEW | change, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ChangeRequest.objects.exists()


def test_missing_required_fields_are_all_listed(demo):
    response = token_client("alice").post("/api/v1/changes/", {}, format="json")
    assert response.status_code == 400
    assert {"title", "description", "change_type", "impact"} <= set(response.json())


def test_a_standard_change_takes_its_template_from_the_catalogue(demo):
    client = token_client("alice")
    template = client.get("/api/v1/templates/").json()["results"][0]
    start = timezone.now() + timedelta(minutes=5)
    standard = {
        "title": "Patch",
        "description": "Monthly",
        "change_type": "standard",
        "template": template["id"],
        "implementer": "ivan",
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=4)).isoformat(),
    }
    response = client.post("/api/v1/changes/", standard, format="json")
    assert response.status_code == 201
    assert response.json()["impact"] == template["impact"]
    submitted = client.post(f"/api/v1/changes/{response.json()['id']}/submit/")
    assert submitted.json()["state"] == "approved"
    assert submitted.json()["pre_approved"] is True


def test_a_standard_change_refuses_values_its_template_owns(demo):
    client = token_client("alice")
    template = client.get("/api/v1/templates/").json()["results"][0]
    other_impact = "critical" if template["impact"] != "critical" else "low"
    before = ChangeRequest.objects.count()
    response = client.post(
        "/api/v1/changes/",
        {
            "title": "Patch",
            "description": "Monthly",
            "change_type": "standard",
            "template": template["id"],
            "impact": other_impact,
            "backout_plan": "Something else.",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) >= {"impact", "backout_plan"}
    assert ChangeRequest.objects.count() == before


def test_the_route_reads_like_the_contract_example(demo):
    change = at_department_head()
    approve("hank", change, comment="ok")
    data = token_client("tom").get(f"/api/v1/changes/{change.pk}/").json()
    assert data["state"] == "tier_approval" and data["risk"] == "low"
    first, second, final = data["route"]
    assert first == {
        "id": first["id"],
        "order": 1,
        "name": "Department head",
        "kind": "tier",
        "quorum": "any",
        "status": "approved",
        "due_at": first["due_at"],
        "approvers": ["hank"],
        "decisions": [
            {
                "approver": "hank",
                "on_behalf_of": None,
                "decision": "approve",
                "comment": "ok",
                "decided_at": first["decisions"][0]["decided_at"],
                "escalated": False,
                "outcome": "",
                "actions": "",
            }
        ],
    }
    assert (second["name"], second["status"], second["approvers"]) == (
        "Technical expert",
        "pending",
        ["tom"],
    )
    assert (final["kind"], final["status"], final["due_at"]) == ("final", "waiting", None)
    assert data["allowed_actions"] == ["approve", "reject", "request_info", "comment"]


def test_patch_edits_a_draft_and_bumps_its_version(demo):
    change = draft()
    response = token_client("alice").patch(
        f"/api/v1/changes/{change.pk}/",
        {"title": "Sharper title", "departments": ["OPS"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Sharper title"
    assert response.json()["departments"] == ["IT", "OPS"]
    assert response.json()["version"] == change.version + 1


def test_patch_of_a_change_past_draft_is_409(demo):
    change = at_department_head()
    response = token_client("alice").patch(
        f"/api/v1/changes/{change.pk}/", {"title": "Late"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_put_is_not_offered(demo):
    change = draft()
    response = token_client("alice").put(f"/api/v1/changes/{change.pk}/", NEW, format="json")
    assert response.status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/changes/abc/",
        "/api/v1/changes/99999999/",
        "/api/v1/changes/99999999999999999999999/",
    ],
)
def test_unknown_or_malformed_ids_are_404(demo, path):
    assert token_client("mia").get(path).status_code == 404


def test_a_plain_requester_sees_only_their_own_changes(demo):
    mine = draft()
    others_draft()
    results = token_client("alice").get("/api/v1/changes/").json()["results"]
    assert [c["id"] for c in results] == [mine.pk]


def test_list_filters(demo):
    low = in_submitted()
    open_route = at_department_head()
    done = approved()
    bob = others_draft()
    workflow.change_submit(actor=user("bob"), change_id=bob.pk)
    ChangeRequest.objects.filter(pk=bob.pk).update(title="Payroll freeze")
    private = draft()  # never submitted: its requester's alone, even for the change manager
    client = token_client("mia")

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/changes/?{query}")
        assert response.status_code == 200, response.json()
        return {c["id"] for c in response.json()["results"]}

    assert ids("state=tier_approval") == {open_route.pk}
    assert ids("state=approved") == {done.pk}
    assert ids("impact=medium") == {low.pk, open_route.pk}
    assert ids("requester=bob") == {bob.pk}
    assert ids("department=FIN") == {bob.pk}
    assert ids("search=payroll") == {bob.pk}
    assert ids("change_type=emergency") == set()
    assert ids("search=version 14") == {low.pk, open_route.pk, done.pk, bob.pk}
    assert private.pk not in ids("impact=medium")


def test_ordering(demo):
    first, second = draft(), draft()
    client = token_client("alice")
    oldest_first = client.get("/api/v1/changes/?ordering=created_at").json()["results"]
    newest_first = client.get("/api/v1/changes/?ordering=-created_at").json()["results"]
    assert [c["id"] for c in oldest_first] == [first.pk, second.pk]
    assert [c["id"] for c in newest_first] == [second.pk, first.pk]
    client.patch(f"/api/v1/changes/{first.pk}/", {"title": "touched"}, format="json")
    recent = client.get("/api/v1/changes/?ordering=-updated_at").json()["results"]
    assert recent[0]["id"] == first.pk


@pytest.mark.parametrize(
    "query", ["state=nonsense", "impact=1", "ordering=title", "search=" + "x" * 300]
)
def test_bad_filters_answer_400(demo, query):
    response = token_client("alice").get(f"/api/v1/changes/?{query}")
    assert response.status_code == 400


def test_an_empty_filter_is_ignored(demo):
    draft()
    response = token_client("alice").get("/api/v1/changes/?change_type=")
    assert len(response.json()["results"]) == 1


def test_pages_link_to_each_other_and_cap_the_page_size(demo):
    for _ in range(5):
        draft()
    client = token_client("alice")
    page1 = client.get("/api/v1/changes/?page_size=2").json()
    assert len(page1["results"]) == 2 and page1["previous"] is None
    page2 = client.get(page1["next"]).json()
    page3 = client.get(page2["next"]).json()
    assert len(page3["results"]) == 1 and page3["next"] is None
    assert page2["previous"] is not None
    seen = {c["id"] for p in (page1, page2, page3) for c in p["results"]}
    assert len(seen) == 5
    huge = client.get("/api/v1/changes/?page_size=100000&page=-3").json()
    assert len(huge["results"]) == 5


def test_unauthenticated_calls_get_401_with_a_challenge(demo):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/changes/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()


def test_a_bad_token_is_401(demo):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/v1/changes/").status_code == 401


def test_token_endpoint_exchanges_credentials_for_a_token(demo):
    from rest_framework.test import APIClient

    client = APIClient()
    good = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "demo-pass-1"}, format="json"
    )
    assert good.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {good.json()['token']}")
    assert client.get("/api/v1/me/").json()["username"] == "alice"
    bad = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": "wrong"}, format="json"
    )
    assert bad.status_code == 400


def test_session_authentication_works_with_csrf(demo):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user("alice"))
    assert client.get("/api/v1/me/").status_code == 200
    refused = client.post("/api/v1/changes/", NEW, format="json")
    assert refused.status_code == 403  # no CSRF token
