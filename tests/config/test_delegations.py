"""Delegations through the admin and the API: the same service, the same refusals, every write
audited, and a refused write changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import Delegation
from approvals.workflow.delegations import delegation_create
from tests.api.conftest import token_client
from tests.config.support import audit_count, last_event, split

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int]:
    return Delegation.objects.count(), audit_count()


def _admin_form(delegator, delegate, *, days: int = 3) -> dict:
    now = timezone.now()
    d0, t0 = split(now - timedelta(minutes=5))
    d1, t1 = split(now + timedelta(days=days))
    return {
        "delegator": delegator.pk,
        "delegate": delegate.pk,
        "starts_at_0": d0,
        "starts_at_1": t0,
        "ends_at_0": d1,
        "ends_at_1": t1,
        "reason": "Leave",
    }


# --- admin --------------------------------------------------------------------------------


def test_the_change_manager_records_a_delegation_for_someone_else_in_the_admin(as_mia, hank, bob):
    response = as_mia.post("/admin/approvals/delegation/add/", _admin_form(hank, bob))

    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert (delegation.delegator, delegation.delegate) == (hank, bob)
    event = last_event()
    assert (event.action, event.actor_name) == ("delegation_created", "mia")
    assert (event.data["delegator"], event.data["delegate"]) == ("hank", "bob")
    assert event.data["after"]["reason"] == "Leave" and event.data["before"] is None


def test_the_admin_refuses_an_auditor_as_delegate_and_saves_nothing(as_mia, hank, audrey):
    before = _counts()

    response = as_mia.post("/admin/approvals/delegation/add/", _admin_form(hank, audrey))

    assert response.status_code == 200
    assert "Auditors cannot act as delegates." in response.content.decode()
    assert _counts() == before


def test_the_admin_refuses_a_delegation_that_has_ended_already(as_mia, hank, bob):
    before = _counts()
    response = as_mia.post("/admin/approvals/delegation/add/", _admin_form(hank, bob, days=-1))
    assert response.status_code == 200
    assert _counts() == before


def test_a_delegation_is_ended_from_the_admin_not_rewritten(as_mia, hank, bob):
    now = timezone.now()
    delegation = delegation_create(
        actor=hank, delegate=bob, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(1)
    )
    page = as_mia.get(f"/admin/approvals/delegation/{delegation.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert (
        as_mia.post(f"/admin/approvals/delegation/{delegation.pk}/delete/", {"post": "yes"})
    ).status_code == 403

    as_mia.post(
        "/admin/approvals/delegation/", {"action": "end_now", "_selected_action": [delegation.pk]}
    )

    delegation.refresh_from_db()
    assert delegation.ends_at <= timezone.now()
    assert (last_event().action, last_event().actor_name) == ("delegation_ended", "mia")


# --- API ----------------------------------------------------------------------------------


def _body(starts: int = 0, ends: int = 3, **extra) -> dict:
    now = timezone.now()
    return {
        "delegate": "bob",
        "starts_at": (now + timedelta(days=starts, minutes=-5)).isoformat(),
        "ends_at": (now + timedelta(days=ends)).isoformat(),
        "reason": "Holiday",
        **extra,
    }


@pytest.fixture
def lent(demo, hank, bob, fiona, olga) -> list[Delegation]:
    now = timezone.now()
    return [
        delegation_create(actor=hank, delegate=bob, starts_at=now, ends_at=now + timedelta(2)),
        delegation_create(actor=fiona, delegate=olga, starts_at=now, ends_at=now + timedelta(2)),
    ]


@pytest.mark.parametrize(
    "username,seen",
    [
        ("hank", {("hank", "bob")}),
        ("bob", {("hank", "bob")}),
        ("alice", set()),
        ("mia", {("hank", "bob"), ("fiona", "olga")}),
        ("audrey", {("hank", "bob"), ("fiona", "olga")}),
    ],
)
def test_the_list_shows_given_and_received_and_everything_to_managers_and_auditors(
    lent, username, seen
):
    response = token_client(username).get("/api/v1/delegations/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {(r["delegator"], r["delegate"]) for r in rows} == seen
    assert all(r["status"] == "active" for r in rows)


def test_an_approver_lends_their_seats_through_the_api(demo):
    before = _counts()

    response = token_client("hank").post("/api/v1/delegations/", _body(), format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["delegator"], response.json()["delegate"]) == ("hank", "bob")
    assert _counts() == (before[0] + 1, before[1] + 1)
    assert (last_event().action, last_event().actor_name) == ("delegation_created", "hank")


def test_a_change_manager_creates_one_for_someone_else_and_both_are_named(demo):
    response = token_client("mia").post(
        "/api/v1/delegations/", _body(delegator="fiona"), format="json"
    )
    assert response.status_code == 201
    event = last_event()
    assert (event.actor_name, event.data["delegator"], event.data["delegate"]) == (
        "mia",
        "fiona",
        "bob",
    )


@pytest.mark.parametrize(
    "username,body,status,field",
    [
        ("hank", _body(delegate="audrey"), 400, "delegate"),
        ("hank", _body(delegate="hank"), 400, "delegate"),
        ("hank", _body(delegate="nobody"), 400, "delegate"),
        ("hank", _body(starts=2, ends=1), 400, "ends_at"),
        ("hank", _body(starts=-3, ends=-1), 400, "ends_at"),
        ("hank", _body(starts_at="soon"), 400, "starts_at"),
        ("hank", _body(colour="blue"), 400, "non_field_errors"),
        ("hank", _body(delegator="fiona"), 403, None),
        ("audrey", _body(), 403, None),
        (None, _body(), 401, None),
    ],
    ids=[
        "auditor as delegate",
        "to oneself",
        "unknown delegate",
        "ends before it starts",
        "in the past",
        "malformed date",
        "unknown field",
        "someone else's seat",
        "auditor",
        "anonymous",
    ],
)
def test_refused_creations_change_nothing(demo, username, body, status, field):
    from rest_framework.test import APIClient

    client = token_client(username) if username else APIClient()
    before = _counts()

    response = client.post("/api/v1/delegations/", body, format="json")

    assert response.status_code == status
    if field:
        assert field in response.json()
    assert _counts() == before


@pytest.mark.parametrize("username", ["hank", "mia"])
def test_the_delegator_or_a_change_manager_ends_a_delegation_early(lent, username):
    delegation = lent[0]

    response = token_client(username).delete(f"/api/v1/delegations/{delegation.pk}/")

    assert response.status_code == 204
    delegation.refresh_from_db()
    assert delegation.ends_at <= timezone.now()
    assert (last_event().action, last_event().actor_name) == ("delegation_ended", username)


@pytest.mark.parametrize(
    "username,status", [("bob", 403), ("audrey", 403), ("alice", 404), ("fiona", 404)]
)
def test_nobody_else_ends_a_delegation(lent, username, status):
    delegation = lent[0]
    before = _counts()

    response = token_client(username).delete(f"/api/v1/delegations/{delegation.pk}/")

    assert response.status_code == status
    ends_at = delegation.ends_at
    delegation.refresh_from_db()
    assert delegation.ends_at == ends_at and _counts() == before


def test_a_delegation_not_yet_started_is_cancelled_and_an_ended_one_cannot_end_again(
    demo, hank, bob
):
    now = timezone.now()
    planned = delegation_create(
        actor=hank, delegate=bob, starts_at=now + timedelta(1), ends_at=now + timedelta(2)
    )
    client = token_client("hank")

    assert client.delete(f"/api/v1/delegations/{planned.pk}/").status_code == 204
    assert not Delegation.objects.filter(pk=planned.pk).exists()
    assert last_event().action == "delegation_cancelled"

    active = delegation_create(actor=hank, delegate=bob, starts_at=now, ends_at=now + timedelta(1))
    assert client.delete(f"/api/v1/delegations/{active.pk}/").status_code == 204
    before = _counts()
    again = client.delete(f"/api/v1/delegations/{active.pk}/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert _counts() == before
