import pytest
from django.contrib.auth.models import Group

from approvals import workflow
from approvals.choices import ChangeState as S
from approvals.exceptions import InvalidTransition
from approvals.models import Decision, Department, PolicyStep
from tests.helpers import approve, assessed, refresh, route, user

pytestmark = pytest.mark.django_db


def test_quorum_all_with_two_of_three_approvers_keeps_the_step_open(alice):
    Department.objects.filter(code="HR").update(head=user("hugo"))
    change = assessed(alice, departments=["FIN", "OPS", "HR"])
    change = approve("hank", change)
    assert route(change)[1][2] == ["fiona", "hugo", "olga"]
    approve("fiona", change)
    change = approve("olga", change)
    assert route(change)[1][1] == "pending"
    assert change.state == S.TIER_APPROVAL
    change = approve("hugo", change)
    assert route(change)[1][1] == "approved"


def test_numeric_quorum_is_met_by_that_many_approvals(alice):
    step = PolicyStep.objects.get(policy__name__startswith="Normal change — medium", order=3)
    step.groups.add(Group.objects.get(name="cab"))  # tom and carl
    step.quorum = "2"
    step.save()
    change = approve("hank", assessed(alice, impact="medium"))
    change = approve("tom", change)
    assert route(change)[1][1] == "pending"
    change = approve("carl", change)
    assert route(change)[1][1] == "approved"


def test_an_approver_cannot_decide_the_same_step_twice(alice):
    change = assessed(alice, departments=["FIN", "OPS"])
    change = approve("hank", change)
    approve("fiona", change)
    with pytest.raises(InvalidTransition):
        approve("fiona", change)


def test_request_info_returns_to_draft_and_voids_earlier_decisions(alice, ada):
    change = approve("hank", assessed(alice, impact="medium"))
    change = workflow.step_decide(
        actor=user("tom"), change_id=change.pk, decision="request_info", comment="Which version?"
    )
    assert change.state == S.DRAFT
    assert set(Decision.objects.filter(step__change=change).values_list("voided", flat=True)) == {
        True
    }
    workflow.change_update(actor=alice, change_id=change.pk, data={"description": "Version 16.4."})
    workflow.change_submit(actor=alice, change_id=change.pk)
    change = workflow.change_assess(actor=ada, change_id=change.pk, impact="medium", risk="low")
    assert [s[1] for s in route(change)] == ["pending", "waiting", "waiting"]
    assert change.round == 1
    change = approve("hank", change)  # hank decides again in the new round
    assert route(change)[0][1] == "approved"


def test_reject_and_request_info_need_a_comment(alice):
    change = assessed(alice)
    for decision in ("reject", "request_info"):
        with pytest.raises(workflow.InvalidInput):
            workflow.step_decide(
                actor=user("hank"), change_id=change.pk, decision=decision, comment=" "
            )
    assert refresh(change).state == S.TIER_APPROVAL


def test_reject_on_any_step_rejects_the_change_and_skips_the_rest(alice):
    change = assessed(alice, impact="medium")
    change = workflow.step_decide(
        actor=user("hank"), change_id=change.pk, decision="reject", comment="No budget."
    )
    assert change.state == S.REJECTED
    assert [s[1] for s in route(change)] == ["rejected", "skipped", "skipped"]


def test_policy_edited_mid_flight_does_not_change_changes_in_flight(alice):
    change = assessed(alice, impact="medium")
    before = route(change)
    PolicyStep.objects.filter(policy__name__startswith="Normal change — medium", order=3).delete()
    PolicyStep.objects.filter(policy__name__startswith="Normal change — medium").update(sla_hours=1)
    assert route(refresh(change)) == before
    for name in ("hank", "tom", "carl"):
        change = approve(name, change)
    assert change.state == S.APPROVED
    later = assessed(alice, impact="medium")
    assert [n for n, _s, _a in route(later)] == ["Department head", "Final approval (CAB)"]
