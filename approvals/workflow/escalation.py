"""Escalation of an overdue step: its escalation target (then the CAB) gets seats on it, under
the same segregation rules as everyone else; a step nobody may take is flagged for reassignment."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from approvals import audit, routing
from approvals.choices import ApproverSource
from approvals.models import ApprovalStep, AuditEvent, ChangeRequest, StepApprover
from approvals.policy import exclusions
from approvals.workflow.staffing import round_decisions_by_change


def step_escalate(*, change: ChangeRequest, step: ApprovalStep, now: datetime) -> AuditEvent:
    """Seat the overdue step's escalation target. The caller holds the change's row lock and
    saves the change afterwards (its audit chain head moves)."""
    (event,) = steps_escalate(changes={change.pk: change}, steps=[step], now=now)
    return event


def steps_escalate(
    *, changes: Mapping[int, ChangeRequest], steps: Sequence[ApprovalStep], now: datetime
) -> list[AuditEvent]:
    """Seat the escalation target of each overdue step, in the same few queries however many
    steps there are; one audit event per step, in the order of `steps`. `changes` holds every
    step's change by id: the caller holds their row locks and saves their audit chain heads
    afterwards."""
    if not steps:
        return []
    decisions = round_decisions_by_change(
        {step.change_id: changes[step.change_id] for step in steps}.values()
    )
    pools = routing.escalation_pools(step.escalation_group_id for step in steps)
    seated: dict[int, set[int]] = defaultdict(set)
    for step_id, user_id in StepApprover.objects.filter(step__in=steps).values_list(
        "step_id", "user_id"
    ):
        seated[step_id].add(user_id)
    targets: list[list[tuple[int, str]]] = []
    for step in steps:
        change = changes[step.change_id]
        excluded = exclusions(
            change, step_id=step.pk, step_kind=step.kind, round_decisions=decisions[change.pk]
        )
        targets.append(pools.targets(step.escalation_group_id, set(excluded)))
    # Members already seated keep their seat (and its source); all of them are told.
    added = [
        [(pk, name) for pk, name in found if pk not in seated[step.pk]]
        for step, found in zip(steps, targets, strict=True)
    ]
    StepApprover.objects.bulk_create(
        StepApprover(step=step, user_id=pk, source=ApproverSource.ESCALATION)
        for step, new in zip(steps, added, strict=True)
        for pk, _ in new
    )
    for step, found in zip(steps, targets, strict=True):
        step.escalated_at = now
        step.no_eligible_at = None if found else now
    # Two UPDATEs, not a bulk_update: every step gets one of two sets of values.
    for no_eligible_at in {step.no_eligible_at for step in steps}:
        ApprovalStep.objects.filter(
            pk__in=[step.pk for step in steps if step.no_eligible_at == no_eligible_at]
        ).update(escalated_at=now, no_eligible_at=no_eligible_at)
    return [
        audit.step_escalated(change=changes[step.change_id], data=_data(step, found, new))
        for step, found, new in zip(steps, targets, added, strict=True)
    ]


def _data(step: ApprovalStep, targets: list[tuple[int, str]], added: list[tuple[int, str]]) -> dict:
    data = {
        "step": step.order,
        "step_id": step.pk,
        "step_name": step.name,
        "step_kind": step.kind,
        "opened_at": step.opened_at,
        "due_at": step.due_at,
        "escalation_group": step.escalation_group.name if step.escalation_group else "",
        "escalated_to": [name for _, name in targets],
        "escalated_to_ids": [pk for pk, _ in targets],
        "seats_added": [name for _, name in added],
    }
    if not targets:
        data["no_eligible_approver"] = step.name
    return data
