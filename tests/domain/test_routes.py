"""Every row of the default policy table, end to end through the service layer."""

import pytest

from approvals import workflow
from approvals.choices import ChangeState as S
from approvals.models import ChangeTemplate
from tests.helpers import approve, assessed, refresh, route, standard_change, submitted, user

pytestmark = pytest.mark.django_db


def test_low_impact_normal_change_goes_department_head_then_change_manager(alice):
    change = assessed(alice, impact="low", risk="low")
    assert change.state == S.TIER_APPROVAL
    assert route(change) == [
        ("Department head", "pending", ["hank"]),
        ("Final approval (change manager)", "waiting", ["mia"]),
    ]
    change = approve("hank", change)
    assert change.state == S.FINAL_APPROVAL
    change = approve("mia", change)
    assert change.state == S.APPROVED
    assert [s[1] for s in route(change)] == ["approved", "approved"]


def test_medium_impact_adds_technical_expert_and_cab(alice):
    change = assessed(alice, impact="medium", risk="low")
    assert [(n, a) for n, _s, a in route(change)] == [
        ("Department head", ["hank"]),
        ("Technical expert", ["tom"]),
        ("Final approval (CAB)", ["carl"]),
    ]
    for name in ("hank", "tom", "carl"):
        change = approve(name, change)
    assert change.state == S.APPROVED


def test_risk_higher_than_impact_decides_the_route(alice):
    change = assessed(alice, impact="low", risk="high")
    assert [n for n, _s, _a in route(change)] == [
        "Department head",
        "Technical expert",
        "Risk assessment",
        "External expert review",
        "Final approval (CAB / senior management)",
    ]


@pytest.mark.parametrize("impact", ["high", "critical"])
def test_high_impact_adds_risk_assessment_and_external_expert(alice, impact):
    change = assessed(alice, impact=impact, risk="low")
    assert [(n, a) for n, _s, a in route(change)] == [
        ("Department head", ["hank"]),
        ("Technical expert", ["tom"]),
        ("Risk assessment", ["rita"]),
        ("External expert review", ["eve"]),
        ("Final approval (CAB / senior management)", ["carl"]),
    ]
    for name in ("hank", "tom", "rita", "eve"):
        change = approve(name, change)
        assert change.state == S.TIER_APPROVAL or name == "eve"
    assert change.state == S.FINAL_APPROVAL
    assert approve("carl", change).state == S.APPROVED


def test_cross_department_change_adds_joint_step_of_every_other_head(alice):
    change = assessed(alice, impact="low", departments=["FIN", "OPS"])
    assert route(change)[:2] == [
        ("Department head", "pending", ["hank"]),
        ("Joint approval (affected departments)", "waiting", ["fiona", "olga"]),
    ]
    change = approve("hank", change)
    change = approve("fiona", change)
    assert route(change)[1][1] == "pending", "quorum all: one head is not enough"
    change = approve("olga", change)
    assert change.state == S.FINAL_APPROVAL


def test_cross_department_and_high_impact_combine(bob):
    change = assessed(bob, impact="high", departments=["IT"])
    assert [(n, a) for n, _s, a in route(change)][:3] == [
        ("Department head", ["fiona"]),
        ("Joint approval (affected departments)", ["hank"]),
        ("Technical expert", ["tom"]),
    ]
    assert len(route(change)) == 6


def test_emergency_change_opens_ecab_at_submit_and_needs_a_retrospective(alice):
    change = submitted(alice, change_type="emergency", impact="high")
    assert change.state == S.FINAL_APPROVAL
    steps = route(change)
    assert steps[0] == ("Emergency CAB (ECAB)", "pending", ["carl", "mia"])
    assert steps[1][:2] == ("Retrospective review (CAB)", "waiting")
    ecab = change.steps.get(order=1)
    assert (ecab.due_at - ecab.opened_at).total_seconds() == 3600
    change = approve("mia", change)
    assert change.state == S.APPROVED
    ivan = user("ivan")
    change = workflow.change_start(actor=ivan, change_id=change.pk)
    change = workflow.change_complete(
        actor=ivan, change_id=change.pk, outcome="success", notes="done"
    )
    assert change.state == S.IMPLEMENTED
    assert route(change)[1][1] == "pending"
    with pytest.raises(workflow.InvalidTransition):
        workflow.change_feedback(actor=ivan, change_id=change.pk, summary="went fine")
    change = approve("carl", change)
    change = workflow.change_feedback(
        actor=ivan, change_id=change.pk, summary="went fine", lessons="none"
    )
    assert change.state == S.CLOSED


def test_standard_change_from_template_is_pre_approved_at_submit(alice):
    template = ChangeTemplate.objects.first()
    draft = standard_change(alice, template)
    change = workflow.change_submit(actor=alice, change_id=draft.pk)
    assert change.state == S.APPROVED
    assert change.pre_approved
    assert not change.steps.exists()


def test_normal_change_runs_to_closed_with_feedback(alice, ivan):
    change = assessed(alice)
    change = approve("hank", change)
    change = approve("mia", change)
    change = workflow.change_start(actor=ivan, change_id=change.pk)
    change = workflow.change_complete(
        actor=ivan, change_id=change.pk, outcome="success", notes="done"
    )
    assert change.state == S.IMPLEMENTED
    change = workflow.change_feedback(
        actor=alice, change_id=change.pk, summary="went well", lessons="test first"
    )
    assert refresh(change).state == S.CLOSED
    actions = list(change.audit_events.values_list("action", flat=True))
    assert actions == [
        "created",
        "submitted",
        "assessed",
        "approved",
        "approved",
        "started",
        "completed",
        "closed",
    ]
