"""Drafts: create and edit, with the fields checked and every edit recorded old and new."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit, outbox
from approvals.choices import ChangeType, Impact
from approvals.fields import clean_change_fields
from approvals.models import ChangeRequest, Department
from approvals.policy import check_create, check_edit
from approvals.selectors import load_actor
from approvals.workflow.common import finish, lock_change, requester_department


def change_create(*, actor: User, data: dict[str, Any]) -> ChangeRequest:
    """Create a draft owned by `actor` from API-shaped field values."""
    who = load_actor(actor)
    check_create(who)
    own_department = requester_department(actor.pk)
    fields, departments = clean_change_fields(data, partial=False, own_department=own_department)
    with transaction.atomic():
        change = ChangeRequest(requester=actor, **fields)
        change.save()
        change.departments.set(departments or [])
        audit.change_created(change=change, actor=actor, fields=_describe(fields, departments))
        change.save(update_fields=["audit_length", "audit_head"])
        outbox.events_recorded()
    return change


def change_update(
    *,
    actor: User,
    change_id: int,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ChangeRequest:
    """The requester edits their draft; records what changed, old and new."""
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        check_edit(who, change)
        own_department = requester_department(change.requester_id)
        fields, departments = clean_change_fields(
            data, partial=True, own_department=own_department, current=change
        )
        diff: dict[str, Any] = {}
        for name, value in fields.items():
            old = getattr(change, name)
            if old != value:
                diff[name] = {"old": _display(old), "new": _display(value)}
                setattr(change, name, value)
        if departments is not None:
            old_codes = sorted(change.departments.values_list("code", flat=True))
            new_codes = sorted(d.code for d in departments)
            if old_codes != new_codes:
                change.departments.set(departments)
                diff["departments"] = {"old": old_codes, "new": new_codes}
        if diff:
            audit.change_edited(change=change, actor=actor, changes=diff)
            finish(change)
    return change


def _display(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return getattr(value, "username", None) or getattr(value, "name", None) or value.pk
    return value


def _describe(fields: dict[str, Any], departments: list[Department] | None) -> dict[str, Any]:
    described = {name: _display(value) for name, value in fields.items()}
    if departments is not None:
        described["departments"] = sorted(d.code for d in departments)
    return described


def missing_before_submit(change: ChangeRequest) -> dict[str, list[str]]:
    """What a draft still lacks before it can be submitted, field by field."""
    errors: dict[str, list[str]] = {}
    if change.impact in (Impact.HIGH, Impact.CRITICAL):
        for name in ("backout_plan", "test_plan"):
            if not getattr(change, name).strip():
                errors[name] = [_("Required before submitting a high or critical impact change.")]
    if change.change_type != ChangeType.EMERGENCY:
        # The approved window binds implementation, so there must be one to approve.
        for name in ("planned_start", "planned_end"):
            if getattr(change, name) is None:
                errors[name] = [_("Plan the implementation window before submitting.")]
        if change.planned_end is not None and change.planned_end <= timezone.now():
            errors["planned_end"] = [_("The planned window is already over; plan a new one.")]
    if change.change_type == ChangeType.STANDARD and (
        change.template is None or not change.template.is_active
    ):
        errors["template"] = [
            _("A standard change needs a catalogue template that is currently approved.")
        ]
    return errors
