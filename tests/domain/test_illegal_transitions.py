"""Every illegal action is refused with a clear error and changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import workflow
from approvals.choices import ChangeState as S
from approvals.exceptions import InvalidInput, InvalidTransition, NotAllowed
from approvals.models import AuditEvent, BlackoutWindow, ChangeRequest, Department
from tests.helpers import approve, assessed, new_change, refresh, submitted, user


def _approved(requester):
    change = approve("hank", assessed(requester))
    return approve("mia", change)


def _rejected(requester):
    return workflow.step_decide(
        actor=user("hank"), change_id=assessed(requester).pk, decision="reject", comment="no"
    )


def _implementing(requester):
    return workflow.change_start(actor=user("ivan"), change_id=_approved(requester).pk)


def _closed(requester):
    change = workflow.change_complete(
        actor=user("ivan"), change_id=_implementing(requester).pk, outcome="success"
    )
    return workflow.change_feedback(actor=user("ivan"), change_id=change.pk, summary="fine")


STATES = {
    "draft": new_change,
    "submitted": submitted,
    "tier_approval": assessed,
    "approved": _approved,
    "rejected": _rejected,
    "implementing": _implementing,
    "closed": _closed,
}

ACTIONS = {
    "submit": lambda c: workflow.change_submit(actor=user("alice"), change_id=c.pk),
    "assess": lambda c: workflow.change_assess(
        actor=user("ada"), change_id=c.pk, impact="low", risk="low"
    ),
    "approve": lambda c: workflow.step_decide(
        actor=user("mia"), change_id=c.pk, decision="approve"
    ),
    "withdraw": lambda c: workflow.change_withdraw(actor=user("alice"), change_id=c.pk),
    "start": lambda c: workflow.change_start(actor=user("ivan"), change_id=c.pk),
    "complete": lambda c: workflow.change_complete(
        actor=user("ivan"), change_id=c.pk, outcome="success"
    ),
    "feedback": lambda c: workflow.change_feedback(actor=user("ivan"), change_id=c.pk, summary="x"),
    "edit": lambda c: workflow.change_update(
        actor=user("alice"), change_id=c.pk, data={"title": "New"}
    ),
}

LEGAL = {
    ("draft", "submit"),
    ("draft", "withdraw"),
    ("draft", "edit"),
    ("submitted", "assess"),
    ("submitted", "withdraw"),
    ("tier_approval", "withdraw"),
    ("approved", "withdraw"),
    ("approved", "start"),
    ("implementing", "complete"),
}

CASES = [(s, a) for s in STATES for a in ACTIONS if (s, a) not in LEGAL]


@pytest.mark.django_db
@pytest.mark.parametrize("state,action", CASES, ids=[f"{a}-from-{s}" for s, a in CASES])
def test_illegal_action_is_refused_and_changes_nothing(alice, state, action):
    change = STATES[state](alice)
    assert refresh(change).state == state
    before = ChangeRequest.objects.filter(pk=change.pk).values().get()
    events = AuditEvent.objects.count()
    with pytest.raises((InvalidTransition, NotAllowed)) as refused:
        ACTIONS[action](change)
    assert refused.value.message
    assert ChangeRequest.objects.filter(pk=change.pk).values().get() == before
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_high_impact_change_needs_backout_and_test_plans_before_submit(alice):
    change = new_change(alice, impact="high", backout_plan="", test_plan="")
    with pytest.raises(InvalidInput) as refused:
        workflow.change_submit(actor=alice, change_id=change.pk)
    assert set(refused.value.errors) == {"backout_plan", "test_plan"}
    assert refresh(change).state == S.DRAFT


@pytest.mark.django_db
def test_assessor_raising_impact_to_high_needs_the_plans_too(alice, ada):
    change = submitted(alice, backout_plan="", test_plan="")
    with pytest.raises(InvalidInput):
        workflow.change_assess(actor=ada, change_id=change.pk, impact="critical", risk="low")
    assert refresh(change).state == S.SUBMITTED


@pytest.mark.django_db
def test_start_is_refused_inside_a_blackout_window_unless_emergency(alice, ivan):
    now = timezone.now()
    window = BlackoutWindow.objects.create(
        name="Quarter close", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5)
    )
    window.departments.add(Department.objects.get(code="IT"))
    change = _approved(alice)
    with pytest.raises(InvalidTransition, match="Quarter close"):
        workflow.change_start(actor=ivan, change_id=change.pk)
    assert refresh(change).state == S.APPROVED
    emergency = approve("mia", submitted(alice, change_type="emergency"))
    started = workflow.change_start(actor=ivan, change_id=emergency.pk)
    assert started.state == S.IMPLEMENTING
    assert started.audit_events.last().data == {"blackout_override": ["Quarter close"]}


@pytest.mark.django_db
def test_blackout_window_of_another_department_does_not_block(alice, ivan):
    now = timezone.now()
    window = BlackoutWindow.objects.create(
        name="HR payroll", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5)
    )
    window.departments.add(Department.objects.get(code="HR"))
    assert workflow.change_start(actor=ivan, change_id=_approved(alice).pk).state == S.IMPLEMENTING


@pytest.mark.django_db
def test_only_the_named_implementer_starts_a_change(alice, tom):
    change = _approved(alice)
    with pytest.raises(NotAllowed):
        workflow.change_start(actor=tom, change_id=change.pk)


@pytest.mark.django_db
def test_withdraw_is_for_the_requester_and_skips_open_steps(alice, bob):
    change = assessed(alice)
    with pytest.raises(NotAllowed):
        workflow.change_withdraw(actor=bob, change_id=change.pk)
    change = workflow.change_withdraw(actor=alice, change_id=change.pk, comment="not needed")
    assert change.state == S.WITHDRAWN
    assert set(change.steps.values_list("status", flat=True)) == {"skipped"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields,bad",
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"change_type": "urgent"}, "change_type"),
        ({"impact": "huge"}, "impact"),
        ({"departments": ["NOPE"]}, "departments"),
        ({"departments": "IT"}, "departments"),
        ({"implementer": "nobody"}, "implementer"),
        ({"change_type": "standard"}, "template"),
        ({"template": 1}, "template"),
        ({"planned_end": timezone.now()}, "planned_end"),
        ({"state": "approved"}, "non_field_errors"),
    ],
)
def test_invalid_input_is_refused_with_the_field_named_and_nothing_created(alice, fields, bad):
    count = ChangeRequest.objects.count()
    with pytest.raises(InvalidInput) as refused:
        new_change(alice, **fields)
    assert bad in refused.value.errors
    assert ChangeRequest.objects.count() == count


@pytest.mark.django_db
def test_requesters_own_department_is_always_included(bob):
    change = new_change(bob, departments=["IT"])
    assert sorted(change.departments.values_list("code", flat=True)) == ["FIN", "IT"]


@pytest.mark.django_db
def test_edit_records_old_and_new_values(alice):
    change = new_change(alice)
    workflow.change_update(
        actor=alice, change_id=change.pk, data={"title": "Renamed", "departments": ["OPS"]}
    )
    event = change.audit_events.last()
    assert event.action == "edited"
    assert event.data["changes"]["title"] == {
        "old": "Upgrade the ticketing database",
        "new": "Renamed",
    }
    assert event.data["changes"]["departments"] == {"old": ["IT"], "new": ["IT", "OPS"]}
