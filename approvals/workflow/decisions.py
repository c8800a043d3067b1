"""Decisions on route steps: approve, reject and request information, with quorum counting
under the change's row lock."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit, routing
from approvals.choices import ChangeState, DecisionKind, Role, StepKind, StepStatus
from approvals.exceptions import InvalidInput, NotFound
from approvals.models import ApprovalStep, ChangeRequest, Decision, Delegation, StepApprover
from approvals.policy import Actor, OpenStep, decision_seat, step_is_met
from approvals.workflow.common import close_step, finish, open_waiting_step, skip_rest


def _lock_for_decision(change_id: int, actor: User) -> ChangeRequest:
    is_auditor = User.groups.through.objects.filter(user_id=actor.pk, group__name=Role.AUDITOR)
    try:
        return (
            ChangeRequest.objects.select_for_update(of=("self",))
            .annotate(actor_is_auditor=Exists(is_auditor))
            .get(pk=change_id)
        )
    except (ChangeRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such change.")) from None


def _round_steps(
    change: ChangeRequest, actor_id: int, now: datetime
) -> list[tuple[ApprovalStep, dict[int, str], dict[int, Any], set[int]]]:
    """Steps of the current round with seats (and their users) and the seats lent to the actor,
    in one query."""
    lent = Delegation.objects.filter(
        delegator_id=OuterRef("user_id"), delegate_id=actor_id, starts_at__lte=now, ends_at__gt=now
    )
    rows = (
        StepApprover.objects.filter(step__change_id=change.pk, step__round=change.round)
        .select_related("step", "user")
        .annotate(lent=Exists(lent))
        .order_by("step__order", "user_id")
    )
    steps: dict[int, tuple[ApprovalStep, dict[int, str], dict[int, Any], set[int]]] = {}
    for row in rows:
        entry = steps.setdefault(row.step_id, (row.step, {}, {}, set()))
        entry[1][row.user_id] = row.source
        entry[2][row.user_id] = row.user
        if row.lent:
            entry[3].add(row.user_id)
    return list(steps.values())


def step_decide(*, actor: User, change_id: int, decision: str, comment: str = "") -> ChangeRequest:
    """Approve, reject or request information on the open step the actor may decide."""
    if decision not in DecisionKind.values:
        raise InvalidInput({"decision": [_("Choose approve, reject or request_info.")]})
    comment = (comment or "").strip()
    if decision != DecisionKind.APPROVE and not comment:
        raise InvalidInput({"comment": [_("Say why: a comment is required.")]})
    now = timezone.now()
    with transaction.atomic():
        change = _lock_for_decision(change_id, actor)
        route = _round_steps(change, actor.pk, now)
        current = next((r for r in route if r[0].status == StepStatus.PENDING), None)
        open_step = None
        if current is not None:
            decided = dict(
                Decision.objects.filter(step_id=current[0].pk).values_list("seat_id", "decision")
            )
            open_step = OpenStep(step=current[0], seats=current[1], decided=decided)
        who = Actor(
            id=actor.pk,
            username=actor.get_username(),
            roles=frozenset({Role.AUDITOR})
            if getattr(change, "actor_is_auditor", False)
            else frozenset(),
            delegator_ids=frozenset(current[3]) if current else frozenset(),
        )
        seat = decision_seat(who, change, open_step)
        assert open_step is not None and current is not None
        step = open_step.step
        Decision.objects.create(
            step=step,
            approver=actor,
            seat_id=seat.user_id,
            on_behalf_of_id=seat.on_behalf_of_id,
            decision=decision,
            comment=comment,
            decided_at=now,
            escalated=seat.escalated,
        )
        open_step.decided[seat.user_id] = decision
        before = change.state
        outcome = _apply_decision(change, route, open_step, decision, now)
        on_behalf_of = current[2][seat.on_behalf_of_id] if seat.on_behalf_of_id else None
        audit.step_decided(
            action={"approve": "approved", "reject": "rejected", "request_info": "info_requested"}[
                decision
            ],
            change=change,
            actor=actor,
            on_behalf_of=on_behalf_of,
            from_state=before,
            data={
                "step": step.order,
                "step_name": step.name,
                "step_kind": step.kind,
                "step_id": step.pk,
                "decision": decision,
                "comment": comment,
                "escalated": seat.escalated,
                **outcome,
            },
        )
        finish(change)
    return change


def _apply_decision(
    change: ChangeRequest, route: list, open_step: OpenStep, decision: str, now: datetime
) -> dict[str, Any]:
    step = open_step.step
    if step.kind == StepKind.RETROSPECTIVE:
        return _decide_retrospective(change, route, open_step, decision, now)
    if decision == DecisionKind.APPROVE:
        if not step_is_met(open_step):
            return {"step_met": False}
        close_step(step, StepStatus.APPROVED, now)
        following = next(
            (
                r[0]
                for r in route
                if r[0].order > step.order and r[0].kind != StepKind.RETROSPECTIVE
            ),
            None,
        )
        if following is None:
            if change.state == ChangeState.TIER_APPROVAL:
                change.enter_final()
            change.grant()
            return {"step_met": True, "opened_step": None}
        open_waiting_step(following, now)
        if following.kind == StepKind.FINAL and change.state == ChangeState.TIER_APPROVAL:
            change.enter_final()
        return {"step_met": True, "opened_step": following.pk, "opened_step_name": following.name}
    if decision == DecisionKind.REJECT:
        close_step(step, StepStatus.REJECTED, now)
        skip_rest(change, exclude=step.pk)
        change.reject()
        return {"step_met": False}
    close_step(step, StepStatus.SKIPPED, now)
    skip_rest(change, exclude=step.pk)
    Decision.objects.filter(step__change=change, step__round=change.round).update(voided=True)
    change.return_for_information()
    return {"step_met": False, "decisions_voided": True}


def _decide_retrospective(
    change: ChangeRequest, route: list, open_step: OpenStep, decision: str, now: datetime
) -> dict[str, Any]:
    step = open_step.step
    if decision == DecisionKind.APPROVE:
        if not step_is_met(open_step):
            return {"step_met": False}
        close_step(step, StepStatus.APPROVED, now)
        return {"step_met": True, "retrospective_approved": True}
    # The change is already implemented: the review cannot undo it. A rejected review (or a
    # request for information) opens a fresh review, and the change stays open until one passes.
    close_step(step, StepStatus.REJECTED, now)
    seats = next(r[1] for r in route if r[0].pk == step.pk)
    again = ApprovalStep.objects.create(
        change=change,
        round=change.round,
        order=max(r[0].order for r in route) + 1,
        name=step.name,
        kind=step.kind,
        approver_rule=step.approver_rule,
        quorum=step.quorum,
        sla_hours=step.sla_hours,
        escalation_group_id=step.escalation_group_id,
        status=StepStatus.PENDING,
        opened_at=now,
        due_at=routing.due_at(now, step.sla_hours),
    )
    StepApprover.objects.bulk_create(
        StepApprover(step=again, user_id=user_id, source=source)
        for user_id, source in seats.items()
    )
    return {"step_met": False, "opened_step": again.pk, "opened_step_name": again.name}
