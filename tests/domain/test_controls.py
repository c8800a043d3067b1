"""Controls that cannot be bypassed: an approval means these people, each deciding one step,
this version, this window. Every refusal is checked for leaving everything as it was."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals import workflow
from approvals.choices import ChangeState as S
from approvals.choices import StepKind, StepStatus
from approvals.exceptions import (
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    NotFound,
    OutsideWindow,
    StaleStep,
    VersionMismatch,
)
from approvals.models import ChangeRequest, ChangeTemplate, Delegation
from approvals.selectors import load_actor
from tests.helpers import (
    approve,
    assessed,
    counts,
    decide,
    new_change,
    refresh,
    standard_change,
    submitted,
    user,
)

pytestmark = pytest.mark.django_db


def open_step(change: ChangeRequest):
    return change.steps.get(round=refresh(change).round, status=StepStatus.PENDING)


def lend(delegator: str, delegate: str) -> None:
    now = timezone.now()
    Delegation.objects.create(
        delegator=user(delegator),
        delegate=user(delegate),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )


def refused(change: ChangeRequest, error: type[Exception], action) -> None:
    """`action` is refused with `error`, and the change, its route, decisions and the audit
    trail stay exactly as they were."""
    before = counts(change)
    with pytest.raises(error):
        action()
    assert counts(change) == before


# --- 1. a standard change is exactly its template ----------------------------------------------


def test_a_standard_change_cannot_change_what_its_template_owns(alice):
    template = ChangeTemplate.objects.get(name__startswith="Monthly OS")
    before = ChangeRequest.objects.count()
    with pytest.raises(InvalidInput) as refusal:
        standard_change(
            alice,
            template,
            impact="critical",
            departments=["IT", "FIN", "OPS", "HR"],
            backout_plan="none",
        )
    assert {"impact", "departments", "backout_plan"} <= set(refusal.value.errors)
    assert ChangeRequest.objects.count() == before


def test_a_standard_change_takes_everything_else_from_its_template(alice):
    template = ChangeTemplate.objects.get(name__startswith="Monthly OS")
    change = workflow.change_submit(actor=alice, change_id=standard_change(alice, template).pk)
    assert change.state == S.APPROVED and change.pre_approved
    assert (change.impact, change.category) == (template.impact, template.category)
    assert change.backout_plan == template.backout_plan
    assert [d.code for d in change.departments.all()] == ["IT"]
    event = change.audit_events.get(action="submitted")
    assert event.data["template"]["approved_by"] == "mia"


def test_the_requester_cannot_be_a_standard_changes_implementer_without_the_role(alice):
    template = ChangeTemplate.objects.get(name__startswith="Monthly OS")
    with pytest.raises(InvalidInput) as refusal:
        standard_change(alice, template, implementer="alice")
    assert "implementer" in refusal.value.errors


def test_a_normal_draft_cannot_be_turned_into_a_standard_change(alice):
    template = ChangeTemplate.objects.get(name__startswith="Monthly OS")
    change = new_change(alice)
    refused(
        change,
        InvalidInput,
        lambda: workflow.change_update(
            actor=alice,
            change_id=change.pk,
            data={"change_type": "standard", "template": template.pk},
        ),
    )


@pytest.mark.parametrize("status", ["proposed", "suspended", "retired"])
def test_only_an_approved_template_can_be_used(alice, status):
    template = ChangeTemplate.objects.get(name__startswith="Monthly OS")
    ChangeTemplate.objects.filter(pk=template.pk).update(status=status)
    with pytest.raises(InvalidInput) as refusal:
        standard_change(alice, template)
    assert "template" in refusal.value.errors


def test_a_template_retired_after_the_draft_was_written_cannot_be_submitted(alice):
    template = ChangeTemplate.objects.get(name__startswith="Monthly OS")
    change = standard_change(alice, template)
    ChangeTemplate.objects.filter(pk=template.pk).update(status="retired")
    refused(change, InvalidInput, lambda: workflow.change_submit(actor=alice, change_id=change.pk))


# --- 2. a decision is bound to its step --------------------------------------------------------


def _hanks_own_change():
    """hank (head of IT) requests an IT change: his department-head step has nobody eligible
    and goes to its escalation target, the change managers (mia)."""
    change = assessed(user("hank"))
    step = open_step(change)
    assert step.escalated_at is not None
    assert set(step.approvers.values_list("username", flat=True)) == {"mia"}
    return change, step


def test_a_stale_click_on_a_decided_step_is_refused_and_changes_nothing(hank):
    change, first = _hanks_own_change()
    change = decide("mia", change, "approve", step_id=first.pk)
    # The final step is the change manager's too; mia decided the tier, so it goes to the CAB.
    final = open_step(change)
    assert final.kind == StepKind.FINAL
    assert set(final.approvers.values_list("username", flat=True)) >= {"carl"}
    refused(change, StaleStep, lambda: decide("mia", change, "approve", step_id=first.pk))


def test_nobody_decides_two_approval_steps_of_one_round(hank):
    change, first = _hanks_own_change()
    change = decide("mia", change, "approve", step_id=first.pk)
    refused(change, NotAllowed, lambda: decide("mia", change, "approve"))
    change = approve("carl", change)
    assert change.state == S.APPROVED


def test_an_action_for_an_old_version_is_refused(alice):
    change = assessed(alice)
    version = refresh(change).version
    approve("hank", change)
    refused(
        change,
        VersionMismatch,
        lambda: workflow.step_decide(
            actor=user("mia"),
            change_id=change.pk,
            decision="approve",
            expected_version=version,
        ),
    )


# --- 3. four eyes across the route ---------------------------------------------------------------


def test_a_technical_expert_cannot_also_give_the_final_approval_as_delegate(alice):
    change = approve("hank", assessed(alice, impact="medium"))
    change = approve("tom", change)
    lend("carl", "tom")
    refused(change, NotAllowed, lambda: approve("tom", change))


def test_a_delegate_holding_two_seats_of_a_joint_step_fills_only_one(alice):
    change = approve("hank", assessed(alice, departments=["IT", "FIN", "HR"]))
    lend("fiona", "rita")
    lend("hugo", "rita")
    change = approve("rita", change)
    joint = open_step(change)
    assert joint.decisions.count() == 1
    refused(change, StaleStep, lambda: approve("rita", change))
    change = approve("hugo", change)
    assert open_step(change).kind == StepKind.FINAL


# --- 4. nobody reviews their own work ----------------------------------------------------------


def test_the_implementer_cannot_review_their_own_emergency(alice, carl):
    carl.groups.add(Group.objects.get(name="implementer"))
    change = submitted(alice, change_type="emergency", implementer="carl")
    refused(change, NotAllowed, lambda: approve("carl", change))  # ECAB is a final approval
    change = approve("mia", change)
    workflow.change_start(actor=carl, change_id=change.pk)
    change = workflow.change_complete(actor=carl, change_id=change.pk, outcome="success")
    review = open_step(change)
    assert review.kind == StepKind.RETROSPECTIVE
    assert "carl" not in set(review.approvers.values_list("username", flat=True))
    refused(change, NotAllowed, lambda: approve("carl", change))


def test_an_assessor_cannot_assess_their_own_change(ada):
    change = submitted(ada)
    refused(
        change,
        NotAllowed,
        lambda: workflow.change_assess(actor=ada, change_id=change.pk, impact="low", risk="low"),
    )


# --- 5. the approved window binds implementation ---------------------------------------------


def _approved_for(start_in: timedelta, length: timedelta = timedelta(hours=2)):
    now = timezone.now()
    change = assessed(
        user("alice"), planned_start=now + start_in, planned_end=now + start_in + length
    )
    return approve("mia", approve("hank", change))


def test_start_before_the_window_is_refused_naming_the_window(ivan):
    change = _approved_for(timedelta(days=6))
    refused(change, OutsideWindow, lambda: workflow.change_start(actor=ivan, change_id=change.pk))


def test_start_is_accepted_from_the_grace_period_until_the_planned_end(ivan):
    change = _approved_for(timedelta(days=6))
    with time_machine.travel(change.planned_start - timedelta(minutes=14)):
        assert workflow.change_start(actor=ivan, change_id=change.pk).state == S.IMPLEMENTING


def test_start_after_the_window_is_refused(ivan):
    change = _approved_for(timedelta(days=1))
    with time_machine.travel(change.planned_end + timedelta(minutes=1)):
        refused(
            change, OutsideWindow, lambda: workflow.change_start(actor=ivan, change_id=change.pk)
        )


def test_planned_dates_in_year_one_are_refused(alice):
    with pytest.raises(InvalidInput) as refusal:
        new_change(
            alice,
            planned_start=timezone.now().replace(year=1),
            planned_end=timezone.now().replace(year=1) + timedelta(hours=1),
        )
    assert "planned_start" in refusal.value.errors


def test_a_normal_change_needs_a_window_before_submit(alice):
    change = new_change(alice, planned_start=None, planned_end=None)
    refused(change, InvalidInput, lambda: workflow.change_submit(actor=alice, change_id=change.pk))


def test_rescheduling_reopens_the_final_approval_for_the_new_window(alice, ivan):
    change = _approved_for(timedelta(days=6))
    start = timezone.now() + timedelta(minutes=10)
    change = workflow.change_reschedule(
        actor=alice,
        change_id=change.pk,
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        reason="the vendor moved the date",
    )
    assert change.state == S.FINAL_APPROVAL
    refused(
        change, InvalidTransition, lambda: workflow.change_start(actor=ivan, change_id=change.pk)
    )
    change = approve("mia", change)  # the same final approver decides the new window
    assert workflow.change_start(actor=ivan, change_id=change.pk).state == S.IMPLEMENTING


def test_only_the_requester_or_a_change_manager_reschedules(tom):
    change = _approved_for(timedelta(days=6))
    start = timezone.now() + timedelta(days=1)
    refused(
        change,
        NotAllowed,
        lambda: workflow.change_reschedule(
            actor=user("hank"),
            change_id=change.pk,
            planned_start=start,
            planned_end=start + timedelta(hours=1),
            reason="x",
        ),
    )


# --- 6. every failure and every emergency is reviewed -----------------------------------------


def _failed(requester):
    change = approve("mia", approve("hank", assessed(requester)))
    workflow.change_start(actor=user("ivan"), change_id=change.pk)
    return workflow.change_complete(
        actor=user("ivan"), change_id=change.pk, outcome="failed", notes="rolled back"
    )


def test_a_failed_normal_change_is_closed_only_after_its_review(alice, ivan):
    change = _failed(alice)
    review = open_step(change)
    assert review.kind == StepKind.RETROSPECTIVE
    assert set(review.approvers.values_list("username", flat=True)) == {"carl"}
    refused(
        change,
        InvalidTransition,
        lambda: workflow.change_feedback(actor=ivan, change_id=change.pk, summary="rolled back"),
    )
    decide("carl", change, "approve", outcome="follow_up", actions="add a canary stage")
    change = workflow.change_feedback(actor=ivan, change_id=change.pk, summary="rolled back")
    assert change.state == S.CLOSED


def test_a_review_cannot_be_rejected_into_a_loop(alice):
    change = _failed(alice)
    steps = change.steps.count()
    refused(change, InvalidTransition, lambda: decide("carl", change, "reject"))
    assert change.steps.count() == steps


def test_asking_the_implementer_for_more_keeps_the_same_review_open(alice):
    change = _failed(alice)
    review = open_step(change)
    decide("carl", change, "request_info", comment="which step failed?")
    assert open_step(change).pk == review.pk
    assert refresh(change).state == S.FAILED
    decide("carl", change, "approve")
    assert refresh(change).steps.get(pk=review.pk).status == StepStatus.APPROVED


def test_follow_up_needs_its_actions(alice):
    change = _failed(alice)
    refused(change, InvalidInput, lambda: decide("carl", change, "approve", outcome="follow_up"))


# --- 7. need to know -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["hank", "tom", "eve", "carl", "ada", "mia", "audrey"])
def test_a_draft_is_seen_by_its_requester_only(alice, who):
    change = new_change(alice)
    refused(
        change,
        NotFound,
        lambda: workflow.change_comment(actor=user(who), change_id=change.pk, text="hello"),
    )


def test_an_external_expert_sees_only_changes_they_are_named_on(alice, eve):
    from approvals.selectors import visible_changes

    low = assessed(alice)
    high = assessed(alice, impact="high")
    visible = set(visible_changes(load_actor(eve)).values_list("pk", flat=True))
    assert high.pk in visible and low.pk not in visible


def test_a_closed_change_takes_no_more_comments(alice):
    change = workflow.change_withdraw(actor=alice, change_id=submitted(alice).pk)
    refused(
        change,
        InvalidTransition,
        lambda: workflow.change_comment(actor=alice, change_id=change.pk, text="late"),
    )


# --- 9. the inbox lists exactly what can be decided ------------------------------------------


def test_a_head_holding_her_own_and_a_lent_seat_decides_once_and_the_row_goes(alice, olga):
    from approvals.selectors import inbox

    change = approve("hank", assessed(alice, departments=["IT", "OPS", "HR"]))
    lend("hugo", "olga")
    assert list(inbox(load_actor(olga)).values_list("change_id", flat=True)) == [change.pk]
    change = approve("olga", change)
    assert not inbox(load_actor(olga)).exists()
    refused(change, StaleStep, lambda: approve("olga", change))


def _scenarios():
    alice = user("alice")
    lend("hugo", "olga")
    lend("carl", "tom")
    yield approve("hank", assessed(alice, departments=["IT", "OPS", "HR"]))
    yield approve("olga", approve("hank", assessed(alice, departments=["IT", "OPS", "HR"])))
    yield approve("tom", approve("hank", assessed(alice, impact="medium")))
    yield assessed(user("hank"))
    yield submitted(alice, change_type="emergency")
    yield _failed(alice)


PEOPLE = ["hank", "fiona", "olga", "hugo", "tom", "rita", "eve", "carl", "mia", "ivan", "audrey"]


def test_the_inbox_lists_exactly_the_steps_where_deciding_would_succeed(alice):
    from django.db import transaction

    from approvals.selectors import inbox

    changes = list(_scenarios())
    outcomes = set()
    for name in PEOPLE:
        listed = set(inbox(load_actor(user(name))).values_list("change_id", flat=True))
        for change in changes:
            decidable = True
            try:
                with transaction.atomic():
                    approve(name, change)
                    raise _Undo
            except _Undo:
                pass
            except (NotAllowed, InvalidTransition):
                decidable = False
            assert (change.pk in listed) == decidable, (name, change.pk)
            outcomes.add(decidable)
    assert outcomes == {True, False}


class _Undo(Exception):
    """Rolls a trial decision back."""


# --- 10. the assessor can stop a change -------------------------------------------------------


def test_the_assessor_sends_a_change_back_for_plans(alice, ada):
    change = submitted(alice, backout_plan="", test_plan="")
    refused(
        change,
        InvalidInput,
        lambda: workflow.change_assess(
            actor=ada, change_id=change.pk, impact="critical", risk="high"
        ),
    )
    change = decide("ada", change, "request_info", comment="add backout and test plans")
    assert change.state == S.DRAFT
    assert change.audit_events.filter(action="info_requested").exists()


def test_the_assessor_rejects_a_change(alice):
    change = decide("ada", submitted(alice), "reject", comment="not feasible")
    assert change.state == S.REJECTED


def test_only_an_assessor_stops_a_submitted_change(alice):
    change = submitted(alice)
    refused(change, NotAllowed, lambda: decide("hank", change, "reject"))


# --- 11. the implementer holds the implementer role -------------------------------------------


@pytest.mark.parametrize("who", ["audrey", "admin", "alice", "carl"])
def test_the_implementer_must_hold_the_implementer_role(alice, who):
    with pytest.raises(InvalidInput) as refusal:
        new_change(alice, implementer=who)
    assert "implementer" in refusal.value.errors


# --- reassignment -----------------------------------------------------------------------------


def test_a_change_manager_reassigns_a_seat_with_a_reason(alice, mia):
    change = assessed(alice)
    step = open_step(change)
    change = workflow.step_reassign(
        actor=mia,
        change_id=change.pk,
        step_id=step.pk,
        from_user="hank",
        to_user="fiona",
        reason="hank is on leave",
    )
    event = change.audit_events.get(action="reassigned")
    assert (event.data["from"], event.data["to"]) == ("hank", "fiona")
    assert approve("fiona", change).steps.get(pk=step.pk).status == StepStatus.APPROVED


@pytest.mark.parametrize(
    ("to", "why"),
    [("alice", "requester"), ("audrey", "auditor"), ("hank", "already seated")],
)
def test_a_seat_never_moves_to_someone_the_rules_exclude(alice, mia, to, why):
    change = assessed(alice)
    step = open_step(change)
    refused(
        change,
        InvalidInput,
        lambda: workflow.step_reassign(
            actor=mia,
            change_id=change.pk,
            step_id=step.pk,
            from_user="hank",
            to_user=to,
            reason=why,
        ),
    )


def test_only_a_change_manager_reassigns(alice, carl):
    change = assessed(alice)
    step = open_step(change)
    refused(
        change,
        NotAllowed,
        lambda: workflow.step_reassign(
            actor=carl,
            change_id=change.pk,
            step_id=step.pk,
            from_user="hank",
            to_user="fiona",
            reason="x",
        ),
    )


def test_a_step_nobody_may_decide_is_never_skipped(mia, carl, hank):
    """mia requests, carl implements: the final approval (the change managers, then the CAB) has
    nobody eligible. Approving the department head's step must open it, flagged, not approve."""
    carl.groups.add(Group.objects.get(name="implementer"))
    change = assessed(mia, implementer="carl")
    final = change.steps.get(kind=StepKind.FINAL)
    assert not final.approvers.exists()
    change = approve("hank", change)
    assert change.state == S.FINAL_APPROVAL
    final.refresh_from_db()
    assert final.status == StepStatus.PENDING and final.no_eligible_at is not None
    assert any(w["kind"] == "no_eligible_approver" for w in _warnings(change))
    change = workflow.step_reassign(
        actor=_other_change_manager(),
        change_id=change.pk,
        step_id=final.pk,
        to_user="eve",
        reason="nobody else may decide it",
    )
    assert approve("eve", change).state == S.APPROVED


def _warnings(change):
    from approvals.selectors import warnings_for, with_route

    return warnings_for(with_route(ChangeRequest.objects.filter(pk=change.pk)).get())


def _other_change_manager():
    from django.contrib.auth import get_user_model

    manager = get_user_model().objects.create_user("max", password="x")
    manager.groups.add(Group.objects.get(name="change_manager"))
    return manager


def test_a_delegate_cannot_fill_the_seat_of_someone_excluded_by_four_eyes(hank, mia, tom):
    change, first = _hanks_own_change()
    change = decide("mia", change, "approve", step_id=first.pk)
    final = open_step(change)
    if not final.seats.filter(user=mia).exists():  # keep mia's seat to prove it stays shut
        final.seats.create(user=mia, source="route")
    lend("mia", "tom")
    refused(change, NotAllowed, lambda: approve("tom", change))
    from approvals.selectors import inbox

    assert change.pk not in set(inbox(load_actor(tom)).values_list("change_id", flat=True))


def test_a_decision_for_the_final_step_of_an_old_window_is_stale_after_a_reschedule(alice):
    change = _approved_for(timedelta(days=6))
    old_final = change.steps.get(kind=StepKind.FINAL)
    start = timezone.now() + timedelta(days=1)
    change = workflow.change_reschedule(
        actor=alice,
        change_id=change.pk,
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        reason="moved",
    )
    new_final = open_step(change)
    assert new_final.pk != old_final.pk and new_final.kind == StepKind.FINAL
    refused(change, StaleStep, lambda: decide("mia", change, "approve", step_id=old_final.pk))
    assert decide("mia", change, "approve", step_id=new_final.pk).state == S.APPROVED


def test_a_reassigned_escalation_seat_is_an_ordinary_seat(alice, mia):
    from approvals.workflow.escalation import step_escalate

    change = approve("hank", assessed(alice, departments=["IT", "FIN", "OPS"]))
    joint = open_step(change)
    from django.db import transaction

    with transaction.atomic():
        locked = ChangeRequest.objects.select_for_update().get(pk=change.pk)
        step_escalate(change=locked, step=joint, now=timezone.now())
        locked.save()
    workflow.step_reassign(
        actor=mia,
        change_id=change.pk,
        step_id=joint.pk,
        from_user="mia",
        to_user="tom",
        reason="mia is busy",
    )
    change = approve("tom", change)
    joint.refresh_from_db()
    assert joint.status == StepStatus.PENDING  # the heads of FIN and OPS must still approve
