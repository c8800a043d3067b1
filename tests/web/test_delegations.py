"""Delegations: the service (validated, atomic, audited) and its page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.exceptions import InvalidInput, InvalidTransition, NotAllowed
from approvals.models import AuditEvent, Delegation
from approvals.workflow.delegations import delegation_create, delegation_end

pytestmark = pytest.mark.django_db


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_creating_a_delegation_records_an_audit_event(hank, bob):
    now = timezone.now()
    delegation = delegation_create(
        actor=hank, delegate="bob", starts_at=now, ends_at=now + timedelta(days=2), reason="Leave"
    )
    event = AuditEvent.objects.get(action="delegation_created")
    assert event.actor_name == "hank" and event.data["delegate"] == "bob"
    assert event.data["delegation"] == delegation.pk


@pytest.mark.parametrize(
    "delegate,starts,ends,field",
    [
        ("hank", 0, 1, "delegate"),
        ("nobody", 0, 1, "delegate"),
        ("audrey", 0, 1, "delegate"),
        ("bob", 2, 1, "ends_at"),
        ("bob", -3, -1, "ends_at"),
    ],
    ids=["to self", "unknown", "to an auditor", "ends before start", "in the past"],
)
def test_invalid_delegations_are_refused_by_field(hank, audrey, delegate, starts, ends, field):
    now = timezone.now()
    with pytest.raises(InvalidInput) as error:
        delegation_create(
            actor=hank,
            delegate=delegate,
            starts_at=now + timedelta(days=starts),
            ends_at=now + timedelta(days=ends),
        )
    assert field in error.value.errors
    assert not Delegation.objects.exists()


def test_auditors_cannot_delegate(audrey, bob):
    now = timezone.now()
    with pytest.raises(NotAllowed):
        delegation_create(actor=audrey, delegate=bob, starts_at=now, ends_at=now + timedelta(1))


def test_ending_an_active_delegation_ends_it_now_and_only_once(hank, bob):
    now = timezone.now()
    delegation = delegation_create(
        actor=hank, delegate=bob, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(1)
    )
    with pytest.raises(NotAllowed):
        delegation_end(actor=bob, delegation_id=delegation.pk)
    delegation_end(actor=hank, delegation_id=delegation.pk)
    delegation.refresh_from_db()
    assert delegation.ends_at <= timezone.now()
    assert AuditEvent.objects.filter(action="delegation_ended").count() == 1
    with pytest.raises(InvalidTransition):
        delegation_end(actor=hank, delegation_id=delegation.pk)


def test_ending_a_planned_delegation_cancels_it(hank, bob):
    now = timezone.now()
    delegation = delegation_create(
        actor=hank, delegate=bob, starts_at=now + timedelta(1), ends_at=now + timedelta(2)
    )
    delegation_end(actor=hank, delegation_id=delegation.pk)
    assert not Delegation.objects.exists()
    assert AuditEvent.objects.filter(action="delegation_cancelled").exists()


def test_the_page_sets_lists_and_ends_delegations(as_user, hank, bob):
    client = as_user(hank)
    now = timezone.now()
    response = client.post(
        reverse("web:delegations"),
        {
            "delegate": "bob",
            "starts_at": _local(now - timedelta(minutes=5)),
            "ends_at": _local(now + timedelta(days=3)),
            "reason": "Holiday",
        },
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    html = client.get(reverse("web:delegations")).content.decode()
    assert "Holiday" in html and "Active" in html and "End now" in html
    assert "Hank Head-of-IT (hank)" in as_user(bob).get(reverse("web:delegations")).content.decode()
    client.post(reverse("web:delegation_end", args=[delegation.pk]))
    assert "Ended" in client.get(reverse("web:delegations")).content.decode()


def test_the_page_shows_validation_errors_next_to_fields(as_user, hank):
    now = timezone.now()
    response = as_user(hank).post(
        reverse("web:delegations"),
        {"delegate": "bob", "starts_at": _local(now + timedelta(2)), "ends_at": _local(now)},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["ends_at"]


def test_someone_elses_delegation_cannot_be_ended_from_the_page(as_user, hank, bob, alice):
    now = timezone.now()
    delegation = delegation_create(
        actor=hank, delegate=bob, starts_at=now, ends_at=now + timedelta(1)
    )
    response = as_user(alice).post(reverse("web:delegation_end", args=[delegation.pk]))
    assert response.status_code == 403
