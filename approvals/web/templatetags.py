"""Small template filters for the pages (registered as the `web` library in settings)."""

import json
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals import naming, selectors
from approvals.choices import AuditAction, ChangeState, DecisionKind, Role, StepStatus
from approvals.localization import localized, localized_value, reader_name, reads_chinese

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
    "no_eligible_approver": gettext_lazy("no eligible approver"),
    "dead_letter_retried": gettext_lazy("dead letter sent again"),
    "dead_letter_dismissed": gettext_lazy("dead letter dismissed"),
    "login_locked_out": gettext_lazy("sign-in locked out"),
}


WARNING_LABELS = {
    "blackout": gettext_lazy("Blackout"),
    "conflict": gettext_lazy("Conflict"),
    "outside_window": gettext_lazy("Window over"),
    "no_eligible_approver": gettext_lazy("No eligible approver"),
}


@register.filter
def departments(change: Any) -> list[Any]:
    """A change's departments, from the list `with_route` prefetched when it did."""
    return selectors.departments_of(change)


@register.filter
def seats(step: Any) -> list[Any]:
    return selectors.seats_of(step)


@register.filter
def decisions(step: Any) -> list[Any]:
    return selectors.decisions_of(step)


@register.filter
def warning_label(value: str) -> str:
    return str(WARNING_LABELS.get(value, value))


@register.filter
def action_label(value: str) -> str:
    """An audit action as people read it, in their language (unknown ones as recorded)."""
    if value in ACTION_LABELS:
        return str(ACTION_LABELS[value])
    return str(dict(AuditAction.choices).get(value, value))


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


# --- times carry their zone, names their language ----------------------------------------------

TIME_FORMATS = {"datetime": "Y-m-d H:i", "seconds": "Y-m-d H:i:s", "time": "H:i", "date": "Y-m-d"}


def zone_label(value: datetime) -> str:
    """The zone a local time is in, as an offset from UTC ("UTC", "UTC+08:00")."""
    offset = value.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def local_text(value: datetime, style: str = "datetime") -> str:
    """The instant in the reader's zone (the active one), followed by that zone."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{date_format(local, TIME_FORMATS.get(style, style))} {zone_label(local)}"


@register.filter
def at(value: datetime | None, style: str = "datetime") -> str:
    """Plain text: "2026-12-01 20:00 UTC+08:00" in the reader's time zone."""
    if not value:
        return ""
    return local_text(value, style)


@register.filter
def when(value: datetime | None, style: str = "datetime") -> str:
    """A <time> element: the instant in the reader's time zone, labelled with that zone."""
    if not value:
        return "—"
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return format_html(
        '<time datetime="{}">{} <span class="tz">{}</span></time>',
        local.isoformat(),
        date_format(local, TIME_FORMATS.get(style, style)),
        zone_label(local),
    )


@register.simple_tag
def window(start: datetime | None, end: datetime | None) -> str:
    """A planned window, its zone printed once: "2026-12-01 20:00 – 22:00 UTC+08:00"."""
    if not start or not end:
        return "—"
    first, last = timezone.localtime(start), timezone.localtime(end)
    end_style = "time" if first.date() == last.date() else "datetime"
    return format_html(
        '<time datetime="{}">{}</time> – <time datetime="{}">{}</time> <span class="tz">{}</span>',
        first.isoformat(),
        date_format(first, TIME_FORMATS["datetime"]),
        last.isoformat(),
        date_format(last, TIME_FORMATS[end_style]),
        zone_label(last),
    )


@register.simple_tag
def colon() -> str:
    """The colon after a label: full-width in Chinese ("影响：高"), ": " otherwise."""
    return "：" if reads_chinese() else ": "


@register.filter
def named(obj: Any, field: str = "name") -> str:
    """A bilingual record's name (or `description`) in the reader's language."""
    return localized(obj, field)


@register.filter
def step_name(step: Any) -> str:
    """A route step's name in the reader's language (steps copy both names from the policy)."""
    return localized(step)


@register.filter
def policy_name(change: Any) -> str:
    """The name of the policy a change was routed by, in the reader's language."""
    return localized_value(change.policy_name, getattr(change, "policy_name_zh", ""))


@register.filter(name="reader_name")
def reader_name_filter(name: str) -> str:
    """A name the rules passed along (a blackout window's), in the reader's language."""
    return reader_name(name)
