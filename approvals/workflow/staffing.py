"""Who decides a step once it opens: the segregation rules applied to its seats, escalation when
nobody on it may decide, and the "no eligible approver" flag when nobody is left at all."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model

from approvals import routing
from approvals.choices import ApproverSource, StepStatus
from approvals.models import ApprovalStep, ChangeRequest, Decision, StepApprover
from approvals.policy import RoundDecision, exclusions

User = get_user_model()


def round_decisions(change: ChangeRequest) -> tuple[RoundDecision, ...]:
    """The live decisions of the change's current round, in one query."""
    return round_decisions_by_change([change])[change.pk]


def round_decisions_by_change(
    changes: Iterable[ChangeRequest],
) -> dict[int, tuple[RoundDecision, ...]]:
    """`round_decisions` of several changes (by change id), in one query."""
    rounds = {change.pk: change.round for change in changes}
    rows = Decision.objects.filter(
        step__change_id__in=rounds, step__round__in=set(rounds.values()), voided=False
    ).values_list(
        "step__change_id",
        "step__round",
        "step_id",
        "step__kind",
        "approver_id",
        "seat_id",
        "decision",
    )
    found: dict[int, list[RoundDecision]] = {pk: [] for pk in rounds}
    for change_id, round_, step_id, kind, approver_id, seat_id, decision in rows:
        if round_ == rounds[change_id]:
            found[change_id].append(RoundDecision(step_id, kind, approver_id, seat_id, decision))
    return {pk: tuple(decisions) for pk, decisions in found.items()}


def step_seats(step: ApprovalStep) -> dict[int, str]:
    return dict(StepApprover.objects.filter(step=step).values_list("user_id", "source"))


def eligible_seats(
    change: ChangeRequest,
    step: ApprovalStep,
    seats: dict[int, str],
    decisions: tuple[RoundDecision, ...],
) -> list[int]:
    """Seats of the step whose holder may still decide it."""
    excluded = exclusions(change, step_id=step.pk, step_kind=step.kind, round_decisions=decisions)
    decided = {d.seat_id for d in decisions if d.step_id == step.pk}
    return [user for user in seats if user not in excluded and user not in decided]


def staff_step(
    *,
    change: ChangeRequest,
    step: ApprovalStep,
    seats: dict[int, str],
    decisions: tuple[RoundDecision, ...],
    now: datetime,
    save: bool = True,
) -> dict[str, Any]:
    """Make sure somebody may decide `step`: when none of its seats may (segregation of duties,
    four eyes), seat its escalation target (then the CAB) without the excluded; when nobody is
    left, flag it for a change manager's reassignment. `seats` is updated in place. Returns what
    the audit event should say (empty when the step was staffed already). With `save=False` the
    caller writes the step's fields."""
    if eligible_seats(change, step, seats, decisions):
        if step.no_eligible_at is not None:
            step.no_eligible_at = None
            if save:
                step.save(update_fields=["no_eligible_at"])
        return {}
    excluded = set(
        exclusions(change, step_id=step.pk, step_kind=step.kind, round_decisions=decisions)
    )
    targets = [
        user
        for user in routing.escalation_targets(step.escalation_group_id, excluded)
        if user not in seats
    ]
    if not targets:
        step.no_eligible_at = now
        if save:
            step.save(update_fields=["no_eligible_at"])
        return {"no_eligible_approver": step.name, "no_eligible_step_id": step.pk}
    StepApprover.objects.bulk_create(
        StepApprover(step=step, user_id=user, source=ApproverSource.ESCALATION) for user in targets
    )
    seats.update(dict.fromkeys(targets, ApproverSource.ESCALATION.value))
    step.escalated_at = now
    step.no_eligible_at = None
    if save:
        step.save(update_fields=["escalated_at", "no_eligible_at"])
    names = list(
        User.objects.filter(pk__in=targets).order_by("username").values_list("username", flat=True)
    )
    return {"escalated_step_id": step.pk, "escalated_to": names}


def open_step(
    *,
    change: ChangeRequest,
    step: ApprovalStep,
    seats: dict[int, str],
    decisions: tuple[RoundDecision, ...],
    now: datetime,
    also_save: list[ApprovalStep] | None = None,
) -> dict[str, Any]:
    """Open a waiting (or re-open a decided) step: it is pending from now, due after its SLA,
    and staffed under the segregation rules. Steps in `also_save` (the one just met) are written
    in the same UPDATE."""
    step.status = StepStatus.PENDING
    step.opened_at = now
    step.decided_at = None
    step.due_at = routing.due_at(now, step.sla_hours)
    if step.escalated_at is not None:  # planned onto its escalation target: decided by them
        step.escalated_at = now
    staffed = staff_step(
        change=change, step=step, seats=seats, decisions=decisions, now=now, save=False
    )
    ApprovalStep.objects.bulk_update(
        [*(also_save or []), step],
        ["status", "opened_at", "decided_at", "due_at", "escalated_at", "no_eligible_at"],
    )
    return staffed
