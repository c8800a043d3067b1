"""Which step an audit event puts in front of new approvers, read from its data.

A step that opens (`opened_step`) or re-opens, its decisions voided (`reopened_step`), waits for
its seat holders; a reassigned seat (`step_id` of a `reassigned` event) waits for the one person
who takes it. The notification, e-mail and chat consumers all read it here.
"""

from typing import Any

from approvals.choices import AuditAction

OPENED_FIELDS = ("opened_step", "reopened_step")


def opened_step_id(data: dict[str, Any]) -> int | None:
    """The step the event opened or re-opened for all its seat holders, if any."""
    for field in OPENED_FIELDS:
        step_id = data.get(field)
        if isinstance(step_id, int):
            return step_id
    return None


def reassigned_step_id(action: str, data: dict[str, Any]) -> int | None:
    """The step whose seat moved to someone new, for a reassignment."""
    step_id = data.get("step_id")
    if action == AuditAction.REASSIGNED and isinstance(step_id, int):
        return step_id
    return None


def waiting_step_id(action: str, data: dict[str, Any]) -> int | None:
    """The step a "step opened" notification of this event asks its recipient to decide."""
    return opened_step_id(data) or reassigned_step_id(action, data)
