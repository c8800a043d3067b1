"""Reference data and the caller."""

import pytest

from approvals.models import Delegation
from tests.api.conftest import token_client
from tests.helpers import user

pytestmark = pytest.mark.django_db


def test_departments_name_their_heads(demo):
    results = token_client("alice").get("/api/v1/departments/").json()["results"]
    assert [(d["code"], d["head"]) for d in results] == [
        ("FIN", "fiona"),
        ("HR", "hugo"),
        ("IT", "hank"),
        ("OPS", "olga"),
    ]


def test_policies_show_their_routes(demo):
    results = token_client("alice").get("/api/v1/policies/").json()["results"]
    medium = next(p for p in results if p["change_type"] == "normal" and p["min_level"] == "medium")
    assert [s["name"] for s in medium["steps"]][-1].startswith("Final approval")
    assert all(s["escalation_group"] for s in medium["steps"])


def test_templates_list_the_active_catalogue(demo):
    results = token_client("alice").get("/api/v1/templates/").json()["results"]
    assert results and all(t["approved_by"] for t in results)


def test_me_tells_department_roles_and_delegated_seats(demo):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    Delegation.objects.create(
        delegator=user("hank"),
        delegate=user("tom"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    me = token_client("tom").get("/api/v1/me/").json()
    assert me["username"] == "tom" and me["department"] == "IT"
    assert me["roles"] == ["approver", "technical_expert"]
    assert me["acting_for"] == ["hank"]
    assert token_client("audrey").get("/api/v1/me/").json()["department"] is None


def test_a_delegate_sees_the_step_in_their_inbox_and_decides_on_behalf(demo):
    from datetime import timedelta

    from django.utils import timezone

    from tests.api.scenarios import at_department_head

    change = at_department_head()
    now = timezone.now()
    Delegation.objects.create(
        delegator=user("hank"),
        delegate=user("rita"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )
    inbox = token_client("rita").get("/api/v1/inbox/").json()["results"]
    assert [(i["change"]["id"], i["step"]["name"]) for i in inbox] == [
        (change.pk, "Department head")
    ]
    decided = token_client("rita").post(
        f"/api/v1/changes/{change.pk}/approve/", {"comment": "for hank"}, format="json"
    )
    decision = decided.json()["route"][0]["decisions"][0]
    assert (decision["approver"], decision["on_behalf_of"]) == ("rita", "hank")


def test_inbox_orders_oldest_due_first_and_flags_overdue(demo):
    from datetime import timedelta

    from django.utils import timezone

    from approvals.models import ApprovalStep
    from tests.api.scenarios import at_department_head

    later, sooner = at_department_head(), at_department_head()
    ApprovalStep.objects.filter(change=sooner, order=1).update(
        due_at=timezone.now() - timedelta(hours=1)
    )
    inbox = token_client("hank").get("/api/v1/inbox/").json()["results"]
    assert [(i["change"]["id"], i["overdue"]) for i in inbox] == [
        (sooner.pk, True),
        (later.pk, False),
    ]
    assert inbox[0]["change"]["departments"] == ["IT"]
    assert token_client("alice").get("/api/v1/inbox/").json()["results"] == []
