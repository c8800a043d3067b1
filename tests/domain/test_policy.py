"""The rules as pure functions, over every state, change type and kind of person: no database."""

from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone

from approvals import policy
from approvals.choices import ChangeState, ChangeType, Role, StepKind, StepStatus
from approvals.models import ApprovalStep, ChangeRequest
from approvals.policy import Actor, OpenStep, RoundDecision, allowed_actions, exclusions

REQUESTER, IMPLEMENTER, APPROVER, ASSESSOR, MANAGER, AUDITOR, OTHER = range(1, 8)
ACTORS = {
    "requester": Actor(REQUESTER, "r"),
    "implementer": Actor(IMPLEMENTER, "i", roles=frozenset({Role.IMPLEMENTER})),
    "approver": Actor(APPROVER, "a", roles=frozenset({Role.APPROVER})),
    "assessor": Actor(ASSESSOR, "s", roles=frozenset({Role.ASSESSOR})),
    "change manager": Actor(MANAGER, "m", roles=frozenset({Role.CHANGE_MANAGER})),
    "auditor": Actor(AUDITOR, "u", roles=frozenset({Role.AUDITOR})),
    "someone else": Actor(OTHER, "o"),
}


def change(state: str, change_type: str = ChangeType.NORMAL) -> ChangeRequest:
    now = timezone.now()
    return ChangeRequest(
        pk=1,
        state=state,
        change_type=change_type,
        requester_id=REQUESTER,
        implementer_id=IMPLEMENTER,
        planned_start=now,
        planned_end=now + timedelta(hours=2),
        round=1,
    )


def open_step(kind: str = StepKind.TIER) -> OpenStep:
    step = ApprovalStep(pk=10, kind=kind, name="Step", status=StepStatus.PENDING)
    return OpenStep(step=step, seats={APPROVER: "route", IMPLEMENTER: "route"})


CELLS = list(product(ChangeState.values, ChangeType.values, list(ACTORS)))


@pytest.mark.parametrize(("state", "change_type", "who"), CELLS)
def test_skipping_impossible_states_never_changes_what_is_allowed(
    monkeypatch, state, change_type, who
):
    subject, actor = change(state, change_type), ACTORS[who]
    for kind in (StepKind.TIER, StepKind.FINAL, StepKind.RETROSPECTIVE):
        fast = allowed_actions(actor, subject, open_step(kind), review_statuses=["pending"])
        with monkeypatch.context() as m:
            m.setattr(policy, "POSSIBLE_IN", {})
            slow = allowed_actions(actor, subject, open_step(kind), review_statuses=["pending"])
        assert fast == slow


@pytest.mark.parametrize("who", list(ACTORS))
def test_an_auditor_is_allowed_nothing_and_others_something_somewhere(who):
    allowed = {
        action
        for state, change_type in product(ChangeState.values, ChangeType.values)
        for action in allowed_actions(ACTORS[who], change(state, change_type), open_step())
    }
    assert (allowed == set()) == (who == "auditor")


def test_the_implementer_is_excluded_from_final_and_review_steps_only():
    subject = change(ChangeState.FINAL_APPROVAL)
    for kind, excluded in (
        (StepKind.TIER, False),
        (StepKind.FINAL, True),
        (StepKind.RETROSPECTIVE, True),
    ):
        reasons = exclusions(subject, step_id=10, step_kind=kind)
        assert (IMPLEMENTER in reasons) is excluded
        assert reasons[REQUESTER] == policy.EXCLUDED_REQUESTER


def test_a_decider_of_one_approval_step_is_excluded_from_the_others_but_not_from_a_review():
    subject = change(ChangeState.FINAL_APPROVAL)
    earlier = (RoundDecision(9, StepKind.TIER, APPROVER, APPROVER, "approve"),)
    final = exclusions(subject, step_id=10, step_kind=StepKind.FINAL, round_decisions=earlier)
    review = exclusions(
        subject, step_id=11, step_kind=StepKind.RETROSPECTIVE, round_decisions=earlier
    )
    assert final[APPROVER] == policy.EXCLUDED_DECIDED_OTHER_STEP
    assert APPROVER not in review


def test_a_second_seat_of_the_same_step_is_refused_as_stale():
    subject = change(ChangeState.TIER_APPROVAL)
    step = open_step()
    step.round_decisions = (RoundDecision(10, StepKind.TIER, OTHER, APPROVER, "approve"),)
    step.decided = {APPROVER: "approve"}
    step.seats[IMPLEMENTER + 100] = "route"
    delegate = Actor(OTHER, "o", delegator_ids=frozenset({IMPLEMENTER + 100}))
    with pytest.raises(policy.StaleStep):
        policy.decision_seat(delegate, subject, step)


@pytest.mark.parametrize(
    ("offset_minutes", "allowed"),
    [(-16, False), (-15, True), (0, True), (120, True), (121, False)],
)
def test_start_is_allowed_only_inside_the_window_and_its_grace(offset_minutes, allowed):
    subject = change(ChangeState.APPROVED)
    at = subject.planned_start + timedelta(minutes=offset_minutes)
    actions = allowed_actions(ACTORS["implementer"], subject, None, now=at)
    assert ("start" in actions) is allowed


def test_an_emergency_starts_at_any_time():
    subject = change(ChangeState.APPROVED, ChangeType.EMERGENCY)
    later = subject.planned_end + timedelta(days=3)
    assert "start" in allowed_actions(ACTORS["implementer"], subject, None, now=later)
