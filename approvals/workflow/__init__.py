"""The one way to change a change. Every action: lock the row, check the rules, run the
transition, save, record the audit event, queue side effects for after commit.

Pages, API, admin actions and tasks all call these functions."""

from approvals.exceptions import InvalidInput, InvalidTransition
from approvals.workflow.configuration import (
    blackout_window_save,
    configuration_delete,
    department_save,
    policy_save,
    user_roles_set,
    user_save,
)
from approvals.workflow.contributions import attachment_add, change_comment
from approvals.workflow.decisions import step_decide
from approvals.workflow.delegations import delegation_create, delegation_end
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
from approvals.workflow.templates import (
    template_approve,
    template_retire,
    template_save,
    template_suspend,
)

__all__ = [
    "InvalidInput",
    "InvalidTransition",
    "attachment_add",
    "blackout_window_save",
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
    "configuration_delete",
    "delegation_create",
    "delegation_end",
    "department_save",
    "policy_save",
    "step_decide",
    "step_reassign",
    "template_approve",
    "template_retire",
    "template_save",
    "template_suspend",
    "user_roles_set",
    "user_save",
]
