"""The one way to change a change. Every action: lock the row, check the rules, run the
transition, save, record the audit event, queue side effects for after commit.

Pages, API, admin actions and tasks all call these functions."""

from approvals.exceptions import InvalidInput, InvalidTransition
from approvals.workflow.contributions import attachment_add, change_comment
from approvals.workflow.decisions import step_decide
from approvals.workflow.drafts import change_create, change_update
from approvals.workflow.lifecycle import (
    change_assess,
    change_complete,
    change_feedback,
    change_reschedule,
    change_start,
    change_submit,
    change_withdraw,
)
from approvals.workflow.reassign import step_reassign

__all__ = [
    "InvalidInput",
    "InvalidTransition",
    "attachment_add",
    "change_assess",
    "change_comment",
    "change_complete",
    "change_create",
    "change_feedback",
    "change_reschedule",
    "change_start",
    "change_submit",
    "change_update",
    "change_withdraw",
    "step_decide",
    "step_reassign",
]
