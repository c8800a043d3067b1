"""Segregation of duties holds whatever groups a user holds."""

import pytest
from django.contrib.auth.models import Group

from approvals import workflow
from approvals.choices import ChangeState as S
from approvals.exceptions import NotAllowed
from tests.helpers import approve, assessed, new_change, refresh, route, submitted

pytestmark = pytest.mark.django_db


def test_requester_who_is_also_an_approver_cannot_decide_own_change(alice, hank):
    hank_change = assessed(hank, impact="medium")
    # hank heads IT: the department-head step has nobody else, so it went to the change manager
    assert route(hank_change)[0] == ("Department head", "pending", ["mia"])
    with pytest.raises(NotAllowed):
        approve("hank", hank_change)
    assert approve("mia", hank_change).steps.get(order=1).status == "approved"


def test_step_with_only_the_requester_eligible_goes_to_escalation_target_at_once(hank):
    change = assessed(hank)
    step = change.steps.get(order=1)
    assert step.escalated_at is not None
    assert list(step.seats.values_list("source", flat=True)) == ["escalation"]


def test_the_change_manager_requesting_a_low_change_leaves_final_approval_to_cab(mia):
    change = assessed(mia)
    assert route(change)[-1] == ("Final approval (change manager)", "waiting", ["carl"])


def test_implementer_cannot_give_final_approval(alice, ivan, carl):
    carl.groups.add(Group.objects.get(name="implementer"))
    change = assessed(alice, impact="medium", implementer="carl")
    # carl is the only CAB member; as implementer he is excluded, so the step escalates
    assert route(change)[-1][2] == ["mia"]
    for name in ("hank", "tom"):
        change = approve(name, change)
    with pytest.raises(NotAllowed):
        approve("carl", change)


def test_auditor_performs_no_transition_whatever_other_groups(alice, audrey):
    audrey.groups.add(Group.objects.get(name="cab"))
    change = assessed(alice, impact="medium")
    approve("hank", change)
    approve("tom", change)
    with pytest.raises(NotAllowed):
        approve("audrey", change)
    with pytest.raises(NotAllowed):
        new_change(audrey)
    with pytest.raises(NotAllowed):
        workflow.change_comment(actor=audrey, change_id=change.pk, text="noted")


def test_assessor_cannot_assess_own_change(ada):
    change = submitted(ada)
    with pytest.raises(NotAllowed):
        workflow.change_assess(actor=ada, change_id=change.pk, impact="low", risk="low")
    assert refresh(change).state == S.SUBMITTED


def test_non_approver_is_refused_and_nothing_changes(alice, bob):
    change = assessed(alice)
    version = refresh(change).version
    with pytest.raises(NotAllowed):
        approve("bob", change)
    assert refresh(change).version == version
    assert change.audit_events.count() == 3
