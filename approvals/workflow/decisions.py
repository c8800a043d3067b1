"""Decisions on route steps: approve, reject and request information, bound to the step they
decide, with quorum counting under the change's row lock; and the assessor's decision to stop a
submitted change."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit
from approvals.choices import (
    AuditAction,
    ChangeState,
    DecisionKind,
    ReviewOutcome,
    Role,
    StepKind,
    StepStatus,
)
from approvals.exceptions import InvalidInput, NotFound
from approvals.limits import NOTE_MAX, checked_text
from approvals.models import ApprovalStep, ChangeRequest, Decision, Delegation, StepApprover
from approvals.policy import (
    EXCLUDED_DECIDED_THIS_STEP,
    Actor,
    OpenStep,
    RoundDecision,
    check_assessment_decision,
    check_decision_kind,
    decision_seat,
    open_step_exclusions,
    require_open_step,
    step_is_met,
)
from approvals.selectors import load_actor
from approvals.workflow.common import check_version, close_step, finish
from approvals.workflow.staffing import open_step

ACTION_OF = {
    DecisionKind.APPROVE: AuditAction.APPROVED,
    DecisionKind.REJECT: AuditAction.REJECTED,
    DecisionKind.REQUEST_INFO: AuditAction.INFO_REQUESTED,
}


class RouteStep:
    """A step of the current round with its seats (user id → source), the seat holders, and
    the seats lent to the acting person now."""

    def __init__(self, step: ApprovalStep) -> None:
        self.step = step
        self.seats: dict[int, str] = {}
        self.users: dict[int, Any] = {}
        self.lent: set[int] = set()


def _lock_for_decision(change_id: int, actor: User) -> ChangeRequest:
    is_auditor = User.groups.through.objects.filter(user_id=actor.pk, group__name=Role.AUDITOR)
    round_steps = (
        ApprovalStep.objects.filter(change=OuterRef("pk"), round=OuterRef("round"))
        .order_by()
        .values("change")
        .annotate(count=Count("pk"))
        .values("count")
    )
    try:
        return (
            ChangeRequest.objects.select_for_update(of=("self",))
            .annotate(
                actor_is_auditor=Exists(is_auditor),
                round_steps=Coalesce(Subquery(round_steps), 0),
            )
            .get(pk=change_id)
        )
    except (ChangeRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such change.")) from None


def _round_steps(
    change: ChangeRequest, actor_id: int, now: datetime
) -> tuple[list[RouteStep], tuple[RoundDecision, ...]]:
    """Steps of the current round with seats (and their users), the seats lent to the actor now,
    and the round's live decisions (each fills a seat), in one query; a step with no seat at all
    (nobody eligible) costs one more, only when there is one."""
    lent = Delegation.objects.filter(
        delegator_id=OuterRef("user_id"), delegate_id=actor_id, starts_at__lte=now, ends_at__gt=now
    )
    live = Decision.objects.filter(step=OuterRef("step_id"), seat=OuterRef("user_id"), voided=False)
    rows = (
        StepApprover.objects.filter(step__change_id=change.pk, step__round=change.round)
        .select_related("step", "user")
        .annotate(
            lent=Exists(lent),
            decided=Subquery(live.values("decision")[:1]),
            decider=Subquery(live.values("approver_id")[:1]),
        )
        .order_by("step__order", "user_id")
    )
    steps: dict[int, RouteStep] = {}
    decisions: list[RoundDecision] = []
    for row in rows:
        entry = steps.setdefault(row.step_id, RouteStep(row.step))
        entry.seats[row.user_id] = row.source
        entry.users[row.user_id] = row.user
        if row.lent:
            entry.lent.add(row.user_id)
        if row.decided:
            decisions.append(
                RoundDecision(row.step_id, row.step.kind, row.decider, row.user_id, row.decided)
            )
    if len(steps) < getattr(change, "round_steps", 0):
        unseated = ApprovalStep.objects.filter(change=change, round=change.round).exclude(
            pk__in=list(steps)
        )
        steps.update({step.pk: RouteStep(step) for step in unseated})
    return sorted(steps.values(), key=lambda r: r.step.order), tuple(decisions)


def _check_input(decision: str, comment: str, outcome: str, actions: str) -> tuple[str, str]:
    """The comment and follow-up actions as stored; InvalidInput listing every problem."""
    errors: dict[str, list[str]] = {}
    comment, comment_problem = checked_text(comment, limit=NOTE_MAX)
    actions, actions_problem = checked_text(actions, limit=NOTE_MAX)
    if decision not in DecisionKind.values:
        errors["decision"] = [_("Choose approve, reject or request_info.")]
    if comment_problem:
        errors["comment"] = [comment_problem]
    elif decision != DecisionKind.APPROVE and not comment:
        errors["comment"] = [_("Say why: a comment is required.")]
    if outcome and outcome not in ReviewOutcome.values:
        errors["outcome"] = [_("Choose accepted or follow_up.")]
    if actions_problem:
        errors["actions"] = [actions_problem]
    elif outcome == ReviewOutcome.FOLLOW_UP and not actions:
        errors["actions"] = [_("Name the follow-up actions.")]
    if errors:
        raise InvalidInput(errors)
    return comment, actions


def step_decide(
    *,
    actor: User,
    change_id: int,
    decision: str,
    comment: str = "",
    step_id: int | None = None,
    outcome: str = "",
    actions: str = "",
    expected_version: int | None = None,
    channel: dict[str, Any] | None = None,
) -> ChangeRequest:
    """Approve, reject or request information on the open step the actor may decide.

    `step_id` names the step decided (pages always send it): a decision for a step that is no
    longer open is refused as stale and changes nothing. On a submitted change the assessor may
    reject it or send it back. `channel` names where a decision came from other than the
    application (an e-mail or chat link: {"channel": "email", "token_id": 12}); it is recorded in
    the decision's audit event."""
    comment, actions = _check_input(decision, comment, outcome, actions)
    now = timezone.now()
    with transaction.atomic():
        change = _lock_for_decision(change_id, actor)
        auditor = bool(getattr(change, "actor_is_auditor", False))
        if not auditor:
            check_version(change, expected_version)
        if change.state == ChangeState.SUBMITTED and not auditor and step_id is None:
            _decide_at_assessment(change, actor, decision, comment)
            finish(change)
            return change
        route, decisions = _round_steps(change, actor.pk, now)
        current = next((r for r in route if r.step.status == StepStatus.PENDING), None)
        open_step_ = None
        if current is not None:
            decided = {d.seat_id: d.decision for d in decisions if d.step_id == current.step.pk}
            open_step_ = OpenStep(current.step, current.seats, decided, decisions)
        who = Actor(
            id=actor.pk,
            username=actor.get_username(),
            roles=frozenset({Role.AUDITOR}) if auditor else frozenset(),
            delegator_ids=frozenset(current.lent) if current else frozenset(),
        )
        if not auditor:
            require_open_step(open_step_, step_id)
        seat = decision_seat(who, change, open_step_)
        assert open_step_ is not None and current is not None
        check_decision_kind(open_step_, decision)
        step = open_step_.step
        before = change.state
        on_behalf_of = current.users[seat.on_behalf_of_id] if seat.on_behalf_of_id else None
        data: dict[str, Any] = {
            "step": step.order,
            "step_name": step.name,
            "step_kind": step.kind,
            "step_id": step.pk,
            "decision": decision,
            "comment": comment,
            "escalated": seat.escalated,
            **(channel or {}),
        }
        if step.kind == StepKind.RETROSPECTIVE and decision == DecisionKind.REQUEST_INFO:
            # The review stays open; the implementer is asked for more (the seat is not used).
            data |= {"review": True, "step_met": False}
        else:
            review = step.kind == StepKind.RETROSPECTIVE
            recorded = Decision.objects.create(
                step=step,
                approver=actor,
                seat_id=seat.user_id,
                on_behalf_of_id=seat.on_behalf_of_id,
                decision=decision,
                comment=comment,
                decided_at=now,
                escalated=seat.escalated,
                review_outcome=(outcome or ReviewOutcome.ACCEPTED) if review else "",
                follow_up_actions=actions if review else "",
            )
            if review:
                data |= {"outcome": recorded.review_outcome, "actions": actions}
            open_step_.decided[seat.user_id] = decision
            open_step_.round_decisions = (
                *decisions,
                RoundDecision(step.pk, step.kind, actor.pk, seat.user_id, decision),
            )
            data |= _apply_decision(change, route, open_step_, decision, now)
        audit.step_decided(
            action=ACTION_OF[DecisionKind(decision)],
            change=change,
            actor=actor,
            on_behalf_of=on_behalf_of,
            from_state=before,
            data=data,
        )
        finish(change)
    return change


def _decide_at_assessment(change: ChangeRequest, actor: User, decision: str, comment: str) -> None:
    check_assessment_decision(load_actor(actor), change, decision)
    before = change.state
    if decision == DecisionKind.REJECT:
        change.reject()
    else:
        change.return_for_information()
    audit.step_decided(
        action=ACTION_OF[DecisionKind(decision)],
        change=change,
        actor=actor,
        on_behalf_of=None,
        from_state=before,
        data={"at": "assessment", "decision": decision, "comment": comment},
    )


def _ineligible_seats(change: ChangeRequest, open_step_: OpenStep) -> set[int]:
    """Seats whose holder the segregation rules keep from deciding (not counted for `all`)."""
    excluded = open_step_exclusions(change, open_step_)
    return {
        user
        for user in open_step_.seats
        if excluded.get(user) not in (None, EXCLUDED_DECIDED_THIS_STEP)
    }


def _end_round(change: ChangeRequest, step: ApprovalStep, status: str, now: datetime) -> None:
    """Close the decided step with `status` and skip the rest of the round, in one UPDATE."""
    ApprovalStep.objects.filter(
        change=change,
        round=change.round,
        status__in=[StepStatus.WAITING, StepStatus.PENDING],
    ).update(
        status=Case(When(pk=step.pk, then=Value(status)), default=Value(StepStatus.SKIPPED)),
        decided_at=Case(When(pk=step.pk, then=Value(now)), default=F("decided_at")),
    )
    step.status, step.decided_at = status, now


def _apply_decision(
    change: ChangeRequest,
    route: list[RouteStep],
    open_step_: OpenStep,
    decision: str,
    now: datetime,
) -> dict[str, Any]:
    step = open_step_.step
    if decision == DecisionKind.APPROVE:
        if not step_is_met(open_step_, _ineligible_seats(change, open_step_)):
            return {"step_met": False}
        if step.kind == StepKind.RETROSPECTIVE:
            close_step(step, StepStatus.APPROVED, now)
            return {"step_met": True, "review_approved": True}
        following = next(
            (
                r
                for r in route
                if r.step.order > step.order
                and r.step.kind != StepKind.RETROSPECTIVE
                and r.step.status == StepStatus.WAITING
            ),
            None,
        )
        if following is None:
            close_step(step, StepStatus.APPROVED, now)
            if change.state == ChangeState.TIER_APPROVAL:
                change.enter_final()
            change.grant()
            return {"step_met": True, "opened_step": None}
        # The step met and the one it opens are written together, in one UPDATE.
        step.status, step.decided_at = StepStatus.APPROVED, now
        staffed = open_step(
            change=change,
            step=following.step,
            seats=following.seats,
            decisions=open_step_.round_decisions,
            now=now,
            also_save=[step],
        )
        if following.step.kind == StepKind.FINAL and change.state == ChangeState.TIER_APPROVAL:
            change.enter_final()
        return {
            "step_met": True,
            "opened_step": following.step.pk,
            "opened_step_name": following.step.name,
            **staffed,
        }
    if decision == DecisionKind.REJECT:
        _end_round(change, step, StepStatus.REJECTED, now)
        change.reject()
        return {"step_met": False}
    _end_round(change, step, StepStatus.SKIPPED, now)
    Decision.objects.filter(step__change=change, step__round=change.round).update(voided=True)
    change.return_for_information()
    return {"step_met": False, "decisions_voided": True}
