"""The standard-change catalogue: a template is usable only while approved by a change manager or
the CAB; editing what it prescribes sends it back for approval; a failed change from it suspends
it until the change manager reviews it; a retired template is never used again.

Each service: lock the template row, check, write, one audit event, in one transaction."""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit, outbox
from approvals.choices import AuditAction, Role
from approvals.choices import TemplateStatus as T
from approvals.exceptions import InvalidTransition, NotAllowed
from approvals.limits import STATUS_REASON_MAX, clean_text
from approvals.models import ChangeTemplate, Department
from approvals.workflow.configuration import (
    apply_values,
    check_configurer,
    describe,
    lock_row,
    record_configuration,
)

# What the template prescribes to every change made from it: changing any of it needs a new
# approval. The name is only how the catalogue lists it.
CONTENT_FIELDS = ("description", "category", "impact", "backout_plan", "test_plan", "departments")
STATUS_FIELDS = ("status", "approved_by", "approved_at", "status_reason")
APPROVER_ROLES = (Role.CHANGE_MANAGER, Role.CAB)


def _values(template: ChangeTemplate) -> dict[str, Any]:
    return describe(template)


def template_save(
    *,
    actor: User,
    template_id: int | None,
    values: dict[str, Any],
    departments: Iterable[Department] | None = None,
) -> ChangeTemplate:
    """Create a template (proposed) or change one. Its status fields are not edited here; a
    change to what an approved template prescribes puts it back to proposed."""
    check_configurer(actor)
    if set(values) & set(STATUS_FIELDS):
        raise NotAllowed(
            _("A template's status changes only by approving, suspending or retiring it.")
        )
    m2m = {"departments": departments} if departments is not None else None
    with transaction.atomic():
        template = lock_row(ChangeTemplate, template_id) if template_id is not None else None
        before = _values(template) if template is not None else None
        template = apply_values(template or ChangeTemplate(), values, m2m)
        after = _values(template)
        content_changed = before is not None and any(
            before[name] != after[name] for name in CONTENT_FIELDS
        )
        if content_changed and template.status == T.APPROVED:
            template.status, template.approved_by, template.approved_at = T.PROPOSED, None, None
            template.status_reason = _("Changed after approval; needs approval again.")
            template.save(update_fields=list(STATUS_FIELDS))
            after = _values(template)
        record_configuration(
            actor=actor,
            obj=template,
            operation="updated" if before is not None else "created",
            before=before,
            after=after,
        )
    return template


def _change_status(
    *,
    action: AuditAction,
    actor: User | None,
    template: ChangeTemplate,
    status: str,
    reason: str,
    change_id: int | None = None,
) -> ChangeTemplate:
    before = _values(template)
    template.status = status
    template.status_reason = reason
    update = ["status", "status_reason"]
    if status == T.APPROVED:
        template.approved_by, template.approved_at = actor, timezone.now()
        update += ["approved_by", "approved_at"]
    template.save(update_fields=update)
    audit.template_status_changed(
        action=action,
        actor=actor,
        template_id=template.pk,
        before=before,
        after=_values(template),
        change_id=change_id,
    )
    outbox.events_recorded()
    return template


def _reason(reason: str) -> str:
    return clean_text(
        reason,
        field="reason",
        limit=STATUS_REASON_MAX,
        required=True,
        required_message=_("Say why."),
    )


def template_approve(*, actor: User, template_id: int) -> ChangeTemplate:
    """Approve a proposed or suspended template for use; who and when are recorded. Only change
    managers and the CAB approve templates."""
    if not actor.groups.filter(name__in=APPROVER_ROLES).exists():
        raise NotAllowed(_("Only a change manager or the CAB may approve a template."))
    with transaction.atomic():
        template = lock_row(ChangeTemplate, template_id)
        if template.status not in (T.PROPOSED, T.SUSPENDED):
            raise InvalidTransition(
                _("Cannot approve a template that is %(status)s.")
                % {"status": template.get_status_display().lower()}
            )
        return _change_status(
            action=AuditAction.TEMPLATE_APPROVED,
            actor=actor,
            template=template,
            status=T.APPROVED,
            reason="",
        )


def template_retire(*, actor: User, template_id: int, reason: str) -> ChangeTemplate:
    """Withdraw a template from the catalogue for good; changes already made from it keep it."""
    check_configurer(actor)
    reason = _reason(reason)
    with transaction.atomic():
        template = lock_row(ChangeTemplate, template_id)
        if template.status == T.RETIRED:
            raise InvalidTransition(_("This template is already retired."))
        return _change_status(
            action=AuditAction.TEMPLATE_RETIRED,
            actor=actor,
            template=template,
            status=T.RETIRED,
            reason=reason,
        )


def template_suspend(
    *, template_id: int, reason: str, change_id: int | None = None
) -> ChangeTemplate:
    """A standard change made from the template failed: the template is unusable until a change
    manager reviews and approves it again. Called by the workflow (no acting person); a template
    already suspended or retired stays as it is, without a second event."""
    with transaction.atomic():
        template = lock_row(ChangeTemplate, template_id)
        if template.status in (T.SUSPENDED, T.RETIRED):
            return template
        return _change_status(
            action=AuditAction.TEMPLATE_SUSPENDED,
            actor=None,
            template=template,
            status=T.SUSPENDED,
            reason=_reason(reason),
            change_id=change_id,
        )
