"""Domain validation of a change's editable fields, shared by the API and the pages."""

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _

from approvals.choices import Category, ChangeType, Impact
from approvals.exceptions import InvalidInput
from approvals.models import ChangeRequest, ChangeTemplate, Department

User = get_user_model()

TEXT_FIELDS = ("goal", "scope", "expected_impact", "backout_plan", "test_plan")
EDITABLE = (
    "title",
    "description",
    "goal",
    "scope",
    "expected_impact",
    "change_type",
    "template",
    "category",
    "impact",
    "departments",
    "implementer",
    "planned_start",
    "planned_end",
    "backout_plan",
    "test_plan",
)


def _choice(
    value: Any, choices: type[models.TextChoices], name: str, errors: dict, *, blank: bool = False
) -> Any:
    if blank and value in (None, ""):
        return ""
    if value not in choices.values:
        errors[name] = [_("Choose one of: %s.") % ", ".join(choices.values)]
    return value


def clean_change_fields(
    data: dict[str, Any],
    *,
    partial: bool,
    own_department: Department | None,
    current: ChangeRequest | None = None,
) -> tuple[dict[str, Any], list[Department] | None]:
    """Model field values and departments from API-shaped input; raises InvalidInput listing
    every problem at once."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        errors["non_field_errors"] = [_("Unknown or read-only fields: %s.") % ", ".join(unknown)]
    out: dict[str, Any] = {}

    def given(name: str) -> bool:
        return name in data

    for name in ("title", "description"):
        if given(name) or not partial:
            value = data.get(name)
            value = value.strip() if isinstance(value, str) else value
            if not isinstance(value, str) or not value:
                errors[name] = [_("This field is required.")]
            elif name == "title" and len(value) > 200:
                errors[name] = [_("At most 200 characters.")]
            else:
                out[name] = value
    for name in TEXT_FIELDS:
        if given(name):
            value = data[name]
            if value is None:
                value = ""
            if not isinstance(value, str):
                errors[name] = [_("Must be text.")]
            else:
                out[name] = value
    if given("change_type") or not partial:
        out["change_type"] = _choice(data.get("change_type"), ChangeType, "change_type", errors)
    if given("impact") or not partial:
        out["impact"] = _choice(data.get("impact"), Impact, "impact", errors)
    if given("category"):
        out["category"] = _choice(data.get("category"), Category, "category", errors, blank=True)

    change_type = out.get("change_type", current.change_type if current else None)
    if given("template") or not partial or "change_type" in out:
        raw = data.get(
            "template", current.template_id if current and not given("template") else None
        )
        if change_type == ChangeType.STANDARD:
            template = _template(raw, errors)
            if template is not None:
                out["template"] = template
                out.setdefault("impact", template.impact)
                if not out.get("category"):
                    out["category"] = template.category
                for name in ("backout_plan", "test_plan"):
                    if not out.get(name) and not (current and getattr(current, name)):
                        out[name] = getattr(template, name)
        elif raw not in (None, ""):
            errors["template"] = [_("Only standard changes use a catalogue template.")]
        else:
            out["template"] = None

    if given("implementer"):
        out["implementer"] = _implementer(data["implementer"], errors)
    for name in ("planned_start", "planned_end"):
        if given(name):
            value = data[name]
            if value is not None and not isinstance(value, datetime):
                errors[name] = [_("Enter a date and time.")]
            else:
                out[name] = value
    start = out.get("planned_start", current.planned_start if current else None)
    end = out.get("planned_end", current.planned_end if current else None)
    if start and end and end <= start:
        errors["planned_end"] = [_("The planned end must be after the planned start.")]

    departments = None
    if given("departments") or not partial:
        departments = _departments(data.get("departments") or [], own_department, errors)
    if errors:
        raise InvalidInput(errors)
    return out, departments


def _template(raw: Any, errors: dict) -> ChangeTemplate | None:
    if raw in (None, ""):
        errors["template"] = [_("A standard change is created from a catalogue template.")]
        return None
    pk = raw.pk if isinstance(raw, ChangeTemplate) else raw
    try:
        template = ChangeTemplate.objects.get(pk=int(pk), is_active=True)
    except (ChangeTemplate.DoesNotExist, ValueError, TypeError):
        errors["template"] = [_("No such active template.")]
        return None
    return template


def _implementer(raw: Any, errors: dict) -> Any:
    if raw in (None, ""):
        return None
    username = raw.get_username() if hasattr(raw, "get_username") else raw
    if not isinstance(username, str):
        errors["implementer"] = [_("Give a username.")]
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        errors["implementer"] = [_("No active user %(name)s.") % {"name": username}]
    return user


def _departments(raw: Any, own: Department | None, errors: dict) -> list[Department]:
    if not isinstance(raw, list | tuple) or not all(isinstance(c, (str, Department)) for c in raw):
        errors["departments"] = [_("Give a list of department codes.")]
        return []
    codes = {c.code if isinstance(c, Department) else c for c in raw}
    found = {d.code: d for d in Department.objects.filter(code__in=codes)}
    missing = sorted(codes - set(found))
    if missing:
        errors["departments"] = [_("Unknown departments: %s.") % ", ".join(missing)]
        return []
    if own is not None:
        found.setdefault(own.code, own)
    if not found:
        errors["departments"] = [_("Name at least one affected department.")]
    return sorted(found.values(), key=lambda d: d.code)
