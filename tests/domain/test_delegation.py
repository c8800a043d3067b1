from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.choices import ChangeState as S
from approvals.exceptions import NotAllowed
from approvals.models import Decision, Delegation
from tests.helpers import approve, assessed

pytestmark = pytest.mark.django_db


def _delegate(delegator, delegate, *, starts, ends):
    now = timezone.now()
    return Delegation.objects.create(
        delegator=delegator, delegate=delegate, starts_at=now + starts, ends_at=now + ends
    )


def test_delegate_decides_inside_the_dates_and_the_record_shows_both_names(alice, hank, bob):
    _delegate(hank, bob, starts=timedelta(hours=-1), ends=timedelta(days=1))
    change = approve("bob", assessed(alice))
    assert change.state == S.FINAL_APPROVAL
    decision = Decision.objects.get(step__change=change)
    assert (decision.approver.username, decision.on_behalf_of.username) == ("bob", "hank")
    event = change.audit_events.last()
    assert (event.actor_name, event.on_behalf_of_name) == ("bob", "hank")


@pytest.mark.parametrize(
    "starts,ends",
    [(timedelta(days=1), timedelta(days=2)), (timedelta(days=-3), timedelta(days=-1))],
    ids=["not yet started", "already ended"],
)
def test_delegate_outside_the_dates_is_refused(alice, hank, bob, starts, ends):
    _delegate(hank, bob, starts=starts, ends=ends)
    change = assessed(alice)
    with pytest.raises(NotAllowed):
        approve("bob", change)


def test_the_absent_approver_and_the_delegate_share_one_seat(alice, hank, bob):
    _delegate(hank, bob, starts=timedelta(hours=-1), ends=timedelta(days=1))
    change = assessed(alice, impact="low", departments=["FIN", "OPS"])
    change = approve("hank", change)  # department head: met, joint step opens
    # bob is not a department head: the joint step has no seat bob could borrow
    with pytest.raises(NotAllowed):
        approve("bob", change)


def test_a_requester_holding_a_delegation_still_cannot_decide_own_change(alice, hank):
    _delegate(hank, alice, starts=timedelta(hours=-1), ends=timedelta(days=1))
    change = assessed(alice)
    with pytest.raises(NotAllowed):
        approve("alice", change)
