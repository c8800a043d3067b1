"""Domain validation of a change's editable fields, shared by the API and the pages."""

from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.choices import Category, ChangeType, Impact, Role, TemplateStatus
from approvals.exceptions import InvalidInput
from approvals.limits import CHANGE_TEXT_MAX, checked_text
from approvals.models import ChangeRequest, ChangeTemplate, Department
from approvals.templates import REQUESTER_SET, differing_fields, template_departments

User = get_user_model()

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
# A planned window outside these years is a typing slip, not a plan.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100

Errors = dict[str, list[str]]


def clean_change_fields(
    data: dict[str, Any],
    *,
    partial: bool,
    own_department: Department | None,
    current: ChangeRequest | None = None,
) -> tuple[dict[str, Any], list[Department] | None]:
    """Model field values and departments from API-shaped input; raises InvalidInput listing
    every problem at once."""
    errors: Errors = {}
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        errors["non_field_errors"] = [_("Unknown or read-only fields: %s.") % ", ".join(unknown)]
    out = _texts(data, partial, errors) | _choices(data, partial, errors)
    change_type = out.get("change_type", current.change_type if current else None)
    if current is not None and "change_type" in out:
        _check_type_change(current.change_type, change_type, errors)
    departments = None
    if change_type == ChangeType.STANDARD:
        template, departments = _standard(data, partial, own_department, current, errors)
        if template is not None:
            out |= {"template": template, "category": template.category, "impact": template.impact}
            out |= {"backout_plan": template.backout_plan, "test_plan": template.test_plan}
    else:
        if data.get("template") not in (None, ""):
            errors["template"] = [_("Only standard changes use a catalogue template.")]
        elif "template" in data or "change_type" in out:
            out["template"] = None
        if "departments" in data or not partial:
            departments = _departments(data.get("departments") or [], own_department, errors)
    if "implementer" in data:
        out["implementer"] = _implementer(data["implementer"], errors)
    out |= _window(data, current, errors)
    if errors:
        raise InvalidInput(errors)
    return out, departments


def _texts(data: dict[str, Any], partial: bool, errors: Errors) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, limit in CHANGE_TEXT_MAX.items():
        required = name in ("title", "description")
        if name in data or (required and not partial):
            text, problem = checked_text(
                data.get(name), limit=limit, required=required, one_line=name == "title"
            )
            if problem is not None:
                errors[name] = [problem]
            else:
                out[name] = text
    return out


def _choice(value: Any, choices: type[models.TextChoices], name: str, errors: Errors) -> Any:
    if value not in choices.values:
        errors[name] = [_("Choose one of: %s.") % ", ".join(choices.values)]
    return value


def _choices(data: dict[str, Any], partial: bool, errors: Errors) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "change_type" in data or not partial:
        out["change_type"] = _choice(data.get("change_type"), ChangeType, "change_type", errors)
    if data.get("change_type") == ChangeType.STANDARD:
        return out  # the template decides impact and category
    if "impact" in data or not partial:
        out["impact"] = _choice(data.get("impact"), Impact, "impact", errors)
    if "category" in data:
        category = data.get("category")
        out["category"] = (
            "" if category in (None, "") else _choice(category, Category, "category", errors)
        )
    return out


def _check_type_change(old: str, new: str | None, errors: Errors) -> None:
    if new != old and ChangeType.STANDARD in (old, new):
        errors["change_type"] = [
            _(
                "A standard change is created from the catalogue and stays one; create a new change instead."
            )
        ]


def _standard(
    data: dict[str, Any],
    partial: bool,
    own: Department | None,
    current: ChangeRequest | None,
    errors: Errors,
) -> tuple[ChangeTemplate | None, list[Department] | None]:
    """The template of a standard change, checked; template-owned fields given otherwise are
    refused, never silently overwritten."""
    raw = data.get("template", current.template_id if current else None)
    template = _template(raw, errors)
    if template is None:
        return None, None
    errors.update(differing_fields(template, data))
    if partial and "template" not in data and current is not None:
        return template, None
    return template, template_departments(template, own)


def _template(raw: Any, errors: Errors) -> ChangeTemplate | None:
    if raw in (None, ""):
        errors["template"] = [_("A standard change is created from a catalogue template.")]
        return None
    pk = raw.pk if isinstance(raw, ChangeTemplate) else raw
    try:
        template = ChangeTemplate.objects.prefetch_related("departments").get(pk=int(pk))
    except (ChangeTemplate.DoesNotExist, ValueError, TypeError):
        errors["template"] = [_("No such template.")]
        return None
    if template.status != TemplateStatus.APPROVED:
        errors["template"] = [
            _("The template “%(name)s” is %(status)s; only approved templates can be used.")
            % {"name": template.name, "status": template.get_status_display().lower()}
        ]
        return None
    return template


def _implementer(raw: Any, errors: Errors) -> Any:
    """The implementer must hold the implementer role: never an auditor, never an account whose
    only standing is being a superuser."""
    if raw in (None, ""):
        return None
    username = raw.get_username() if hasattr(raw, "get_username") else raw
    if not isinstance(username, str):
        errors["implementer"] = [_("Give a username.")]
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        errors["implementer"] = [_("No active user %(name)s.") % {"name": username}]
        return None
    roles = set(user.groups.values_list("name", flat=True))
    if Role.IMPLEMENTER not in roles or Role.AUDITOR in roles:
        errors["implementer"] = [
            _("%(name)s does not hold the implementer role.") % {"name": username}
        ]
        return None
    return user


def _window(data: dict[str, Any], current: ChangeRequest | None, errors: Errors) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("planned_start", "planned_end"):
        if name in data:
            out[name] = data[name]
    start = out.get("planned_start", current.planned_start if current else None)
    end = out.get("planned_end", current.planned_end if current else None)
    errors.update(check_window(start, end))
    return out


def check_window(start: Any, end: Any, *, future: bool = False) -> Errors:
    """A planned window is two instants in a sensible range, the end after the start (and, when
    `future`, not yet over)."""
    errors: Errors = {}
    for name, value in (("planned_start", start), ("planned_end", end)):
        if value is None:
            if future:
                errors[name] = [_("Enter a date and time.")]
        elif not isinstance(value, datetime):
            errors[name] = [_("Enter a date and time.")]
        elif not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            errors[name] = [
                _("Enter a date between the years %(first)s and %(last)s.")
                % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
            ]
    if errors or start is None or end is None:
        return errors
    if end <= start:
        errors["planned_end"] = [_("The planned end must be after the planned start.")]
    elif future and end <= timezone.now():
        errors["planned_end"] = [_("The planned end must be in the future.")]
    return errors


def year_out_of_range(value: date) -> str:
    """Why a date (or instant) is refused as outside the sensible years; empty when it is in."""
    if EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return ""
    return _("Enter a date between the years %(first)s and %(last)s.") % {
        "first": EARLIEST_YEAR,
        "last": LATEST_YEAR,
    }


def _departments(raw: Any, own: Department | None, errors: Errors) -> list[Department]:
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


__all__ = [
    "EDITABLE",
    "REQUESTER_SET",
    "check_window",
    "clean_change_fields",
    "year_out_of_range",
]
