"""Out-of-office delegation: an approver lends their seat to a delegate between two instants."""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit, outbox
from approvals.choices import Role
from approvals.exceptions import InvalidInput, InvalidTransition, NotAllowed, NotFound
from approvals.models import Delegation


def _is_auditor(user: User) -> bool:
    return user.groups.filter(name=Role.AUDITOR).exists()


def _describe(delegation: Delegation) -> dict:
    return {
        "delegation": delegation.pk,
        "delegator": delegation.delegator.get_username(),
        "delegate": delegation.delegate.get_username(),
        "starts_at": delegation.starts_at.isoformat(),
        "ends_at": delegation.ends_at.isoformat(),
        "reason": delegation.reason,
    }


def delegation_create(
    *,
    actor: User,
    delegate: User | str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
) -> Delegation:
    """Lend `actor`'s approver seat to `delegate` from `starts_at` until `ends_at`."""
    if _is_auditor(actor):
        raise NotAllowed(_("Auditors have read-only access and perform no action."))
    errors: dict[str, list[str]] = {}
    person = (
        User.objects.filter(username=delegate, is_active=True).first()
        if isinstance(delegate, str)
        else delegate
    )
    if person is None:
        errors["delegate"] = [_("No active user %(name)s.") % {"name": delegate}]
    elif person.pk == actor.pk:
        errors["delegate"] = [_("You cannot delegate to yourself.")]
    elif _is_auditor(person):
        errors["delegate"] = [_("Auditors cannot act as delegates.")]
    if not isinstance(starts_at, datetime):
        errors["starts_at"] = [_("Enter a date and time.")]
    if not isinstance(ends_at, datetime):
        errors["ends_at"] = [_("Enter a date and time.")]
    elif isinstance(starts_at, datetime) and ends_at <= starts_at:
        errors["ends_at"] = [_("The end must be after the start.")]
    elif ends_at <= timezone.now():
        errors["ends_at"] = [_("The end must be in the future.")]
    reason = (reason or "").strip()
    if len(reason) > 200:
        errors["reason"] = [_("At most 200 characters.")]
    if errors or person is None:
        raise InvalidInput(errors)
    with transaction.atomic():
        delegation = Delegation.objects.create(
            delegator=actor, delegate=person, starts_at=starts_at, ends_at=ends_at, reason=reason
        )
        audit.delegation_recorded(
            action="delegation_created", actor=actor, data=_describe(delegation)
        )
        outbox.events_recorded()
    return delegation


def delegation_end(*, actor: User, delegation_id: int) -> Delegation:
    """End `actor`'s delegation now; one that has not started yet is cancelled outright."""
    if _is_auditor(actor):
        raise NotAllowed(_("Auditors have read-only access and perform no action."))
    now = timezone.now()
    with transaction.atomic():
        # The row lock keeps two clicks on "end" from recording two endings.
        delegation = (
            Delegation.objects.select_for_update()
            .select_related("delegator", "delegate")
            .filter(pk=delegation_id)
            .first()
        )
        if delegation is None:
            raise NotFound(_("No such delegation."))
        if delegation.delegator_id != actor.pk:
            raise NotAllowed(_("Only the absent approver may end their delegation."))
        if delegation.ends_at <= now:
            raise InvalidTransition(_("This delegation has already ended."))
        data = _describe(delegation)
        if delegation.starts_at >= now:
            delegation.delete()
            action = "delegation_cancelled"
        else:
            delegation.ends_at = now
            delegation.save(update_fields=["ends_at"])
            data["ends_at"] = now.isoformat()
            action = "delegation_ended"
        audit.delegation_recorded(action=action, actor=actor, data=data)
        outbox.events_recorded()
    return delegation
