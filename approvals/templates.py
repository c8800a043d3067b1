"""Standard changes are exactly their template: the template owns these fields, one function
applies them for pages and API alike."""

from typing import Any

from django.utils.translation import gettext as _

from approvals.models import ChangeRequest, ChangeTemplate, Department

# Fields a standard change takes from its template and may not change (departments too).
TEMPLATE_OWNED = ("category", "impact", "backout_plan", "test_plan")
# What the requester of a standard change sets.
REQUESTER_SET = (
    "title",
    "description",
    "goal",
    "scope",
    "expected_impact",
    "planned_start",
    "planned_end",
    "implementer",
)


def template_departments(template: ChangeTemplate, own: Department | None) -> list[Department]:
    """The template's departments; one that names none affects the requester's own."""
    departments = sorted(template.departments.all(), key=lambda d: d.code)
    if not departments and own is not None:
        departments = [own]
    return departments


def differing_fields(template: ChangeTemplate, data: dict[str, Any]) -> dict[str, list[str]]:
    """Template-owned fields given with another value than the template's, as field errors."""
    errors: dict[str, list[str]] = {}
    message = _(
        "A standard change takes this from its template “%(name)s”; to change it, create a normal change."
    ) % {"name": template.name}
    for name in TEMPLATE_OWNED:
        if name in data and data[name] not in (None, "", getattr(template, name)):
            errors[name] = [message]
    if "departments" in data and data["departments"]:
        given = {d.code if isinstance(d, Department) else d for d in data["departments"]}
        owned = {d.code for d in template.departments.all()}
        if owned and given != owned:
            errors["departments"] = [message]
    return errors


def apply_template(change: ChangeRequest) -> dict[str, Any]:
    """Set the template-owned fields of a standard change from its template (at submit, so a
    template revised since the draft was written is what is approved); returns what the audit
    event records of the template."""
    template = change.template
    if template is None:
        return {}
    for name in TEMPLATE_OWNED:
        setattr(change, name, getattr(template, name))
    owned = list(template.departments.all())
    if owned:
        change.departments.set(owned)
    return {
        "id": template.pk,
        "name": template.name,
        "status": template.status,
        "approved_by": template.approved_by.get_username() if template.approved_by else None,
        "approved_at": template.approved_at.isoformat() if template.approved_at else None,
        **{name: getattr(template, name) for name in TEMPLATE_OWNED},
        "departments": sorted(d.code for d in owned),
    }
