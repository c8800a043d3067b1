"""Escalation of an overdue step: its escalation target (then the CAB) gets seats on it, under
the same segregation rules as everyone else; a step nobody may take is flagged for reassignment."""

from datetime import datetime

from django.contrib.auth import get_user_model

from approvals import audit, routing
from approvals.choices import ApproverSource
from approvals.models import ApprovalStep, AuditEvent, ChangeRequest, StepApprover
from approvals.policy import exclusions
from approvals.workflow.staffing import round_decisions

User = get_user_model()


def step_escalate(*, change: ChangeRequest, step: ApprovalStep, now: datetime) -> AuditEvent:
    """Seat the overdue step's escalation target. The caller holds the change's row lock and
    saves the change afterwards (its audit chain head moves)."""
    excluded = set(
        exclusions(
            change,
            step_id=step.pk,
            step_kind=step.kind,
            round_decisions=round_decisions(change),
        )
    )
    targets = routing.escalation_targets(step.escalation_group_id, excluded)
    names = dict(User.objects.filter(pk__in=targets).values_list("pk", "username"))
    # Members already seated keep their seat (and its source); all of them are told.
    seated = set(step.seats.values_list("user_id", flat=True))
    added = [pk for pk in targets if pk not in seated]
    StepApprover.objects.bulk_create(
        StepApprover(step=step, user_id=pk, source=ApproverSource.ESCALATION) for pk in added
    )
    step.escalated_at = now
    step.no_eligible_at = None if targets else now
    step.save(update_fields=["escalated_at", "no_eligible_at"])
    data = {
        "step": step.order,
        "step_id": step.pk,
        "step_name": step.name,
        "step_kind": step.kind,
        "opened_at": step.opened_at,
        "due_at": step.due_at,
        "escalation_group": step.escalation_group.name if step.escalation_group else "",
        "escalated_to": [names[pk] for pk in targets],
        "escalated_to_ids": targets,
        "seats_added": [names[pk] for pk in added],
    }
    if not targets:
        data["no_eligible_approver"] = step.name
    return audit.step_escalated(change=change, data=data)
