"""Webhook event types, derived from audit actions."""

from approvals.choices import ChangeState
from approvals.models import AuditEvent

# Audit action → webhook event type. Decisions and completions are refined by their outcome below.
ACTION_EVENTS = {
    "created": "change.created",
    "edited": "change.edited",
    "submitted": "change.submitted",
    "assessed": "change.assessed",
    "approved": "step.approved",
    "rejected": "change.rejected",
    "info_requested": "change.info_requested",
    "withdrawn": "change.withdrawn",
    "started": "change.started",
    "completed": "change.completed",
    "closed": "change.closed",
    "commented": "change.commented",
    "attachment_added": "change.attachment_added",
    "reminder_sent": "step.reminder_sent",
    "escalated": "step.escalated",
}

EVENT_TYPES = sorted({*ACTION_EVENTS.values(), "change.approved", "change.failed", "step.opened"})


def event_types_of(event: AuditEvent) -> list[str]:
    """The webhook event types one audit event raises (none for configuration events).

    A decision that approves the whole change is `change.approved`; an action that opens the next
    step (assessment, a met tier, an emergency submit, completion of an emergency) also raises
    `step.opened`, so an integrator can follow the route step by step.
    """
    base = ACTION_EVENTS.get(event.action)
    if base is None:
        return []
    types = [base]
    if event.action == "approved" and event.to_state == ChangeState.APPROVED:
        types = ["change.approved"]
    elif event.action == "completed" and event.to_state == ChangeState.FAILED:
        types = ["change.failed"]
    elif event.action == "submitted" and event.to_state == ChangeState.APPROVED:
        types = ["change.submitted", "change.approved"]
    if (event.data or {}).get("opened_step"):
        types.append("step.opened")
    return types
