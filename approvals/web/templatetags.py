"""Small template filters for the pages (registered as the `web` library in settings)."""

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from approvals.choices import ChangeState, DecisionKind, StepStatus

register = template.Library()

STATE_TONE = {
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
STEP_TONE = {
    StepStatus.WAITING: "neutral",
    StepStatus.PENDING: "info",
    StepStatus.APPROVED: "good",
    StepStatus.REJECTED: "bad",
    StepStatus.SKIPPED: "neutral",
}


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
    return f"CHG-{change_id:06d}" if change_id else ""


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
