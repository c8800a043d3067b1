"""Small template filters for the pages (registered as the `web` library in settings)."""

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals import naming
from approvals.choices import ChangeState, DecisionKind, Role, StepStatus

register = template.Library()

STATE_TONE: dict[str, str] = {
    ChangeState.DRAFT: "neutral",
    ChangeState.SUBMITTED: "info",
    ChangeState.ASSESSED: "info",
    ChangeState.TIER_APPROVAL: "info",
    ChangeState.FINAL_APPROVAL: "info",
    ChangeState.APPROVED: "good",
    ChangeState.IMPLEMENTING: "info",
    ChangeState.IMPLEMENTED: "good",
    ChangeState.FAILED: "bad",
    ChangeState.CLOSED: "neutral",
    ChangeState.REJECTED: "bad",
    ChangeState.WITHDRAWN: "neutral",
}
STEP_TONE: dict[str, str] = {
    StepStatus.WAITING: "neutral",
    StepStatus.PENDING: "info",
    StepStatus.APPROVED: "good",
    StepStatus.REJECTED: "bad",
    StepStatus.SKIPPED: "neutral",
}

# Audit actions as people read them; unknown actions show as recorded.
ACTION_LABELS = {
    "created": gettext_lazy("created"),
    "edited": gettext_lazy("edited"),
    "submitted": gettext_lazy("submitted"),
    "assessed": gettext_lazy("assessed"),
    "approved": gettext_lazy("approved"),
    "rejected": gettext_lazy("rejected"),
    "info_requested": gettext_lazy("requested information"),
    "withdrawn": gettext_lazy("withdrawn"),
    "started": gettext_lazy("started"),
    "completed": gettext_lazy("completed"),
    "closed": gettext_lazy("closed"),
    "commented": gettext_lazy("commented"),
    "attachment_added": gettext_lazy("attached a file"),
    "reminder_sent": gettext_lazy("reminder sent"),
    "escalated": gettext_lazy("escalated"),
    "delegation_created": gettext_lazy("delegation created"),
    "delegation_ended": gettext_lazy("delegation ended"),
    "delegation_cancelled": gettext_lazy("delegation cancelled"),
    "reassigned": gettext_lazy("reassigned an approver"),
    "rescheduled": gettext_lazy("rescheduled"),
    "configuration_changed": gettext_lazy("configuration changed"),
    "template_approved": gettext_lazy("template approved"),
    "template_suspended": gettext_lazy("template suspended"),
    "template_retired": gettext_lazy("template retired"),
    "roles_changed": gettext_lazy("roles changed"),
}


WARNING_LABELS = {
    "blackout": gettext_lazy("Blackout"),
    "conflict": gettext_lazy("Conflict"),
    "outside_window": gettext_lazy("Window over"),
    "no_eligible_approver": gettext_lazy("No eligible approver"),
}


@register.filter
def warning_label(value: str) -> str:
    return str(WARNING_LABELS.get(value, value))


@register.filter
def action_label(value: str) -> str:
    return str(ACTION_LABELS.get(value, value))


@register.filter
def state_label(value: str) -> str:
    return str(dict(ChangeState.choices).get(value, value))


@register.filter
def state_tone(value: str) -> str:
    return STATE_TONE.get(value, "neutral")


@register.filter
def step_tone(value: str) -> str:
    return STEP_TONE.get(value, "neutral")


@register.filter
def decision_label(value: str) -> str:
    return str(dict(DecisionKind.choices).get(value, value))


@register.filter
def change_key(change_id: int | None) -> str:
    return naming.change_key(change_id)


@register.filter
def pretty_json(value: Any) -> str:
    if value is None:
        return _("none")
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)


@register.filter
def person(user: Any) -> str:
    if user is None:
        return ""
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{full} ({user.get_username()})" if full else user.get_username()


@register.filter
def quorum_label(value: str) -> str:
    if value == "any":
        return _("any one")
    if value == "all":
        return _("all")
    return _("%(n)s of them") % {"n": value}


@register.filter
def role_label(group_name: str) -> str:
    """A role group's name as people read it (groups outside the roles show as named)."""
    return str(dict(Role.choices).get(group_name, group_name))
