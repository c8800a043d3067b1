"""Out-of-office delegation: an approver lends their seat to a delegate between two instants.
The page, the API and the admin create and end delegations only here."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit, outbox
from approvals.choices import AuditAction, Role
from approvals.exceptions import InvalidInput, InvalidTransition, NotAllowed, NotFound
from approvals.limits import DELEGATION_REASON_MAX, checked_text, normalise
from approvals.models import Delegation
from approvals.policy import Actor
from approvals.workflow.configuration import is_configurer

# Who reads every delegation: those who manage them and those who audit them.
SEE_ALL_ROLES = frozenset({Role.CHANGE_MANAGER, Role.AUDITOR})


def delegations_visible_to(actor: Actor) -> QuerySet[Delegation]:
    """The delegations `actor` may read: given and received; change managers and auditors: all."""
    qs = Delegation.objects.select_related("delegator", "delegate").order_by("-starts_at", "-pk")
    if actor.roles & SEE_ALL_ROLES:
        return qs
    return qs.filter(Q(delegator_id=actor.id) | Q(delegate_id=actor.id))


def _is_auditor(user: User) -> bool:
    return user.groups.filter(name=Role.AUDITOR).exists()


def describe(delegation: Delegation) -> dict[str, Any]:
    return {
        "delegator": delegation.delegator.get_username(),
        "delegate": delegation.delegate.get_username(),
        "starts_at": delegation.starts_at.isoformat(),
        "ends_at": delegation.ends_at.isoformat(),
        "reason": delegation.reason,
    }


def _person(value: User | str | None) -> User | None:
    if isinstance(value, User):
        return value if value.is_active else None
    if not value:
        return None
    return User.objects.filter(username=value, is_active=True).first()


def _check_actor(actor: User) -> None:
    if _is_auditor(actor):
        raise NotAllowed(_("Auditors have read-only access and perform no action."))


def delegation_errors(
    *,
    actor: User,
    delegator: User | str | None,
    delegate: User | str | None,
    starts_at: object,
    ends_at: object,
    reason: str = "",
) -> dict[str, list[str]]:
    """What is wrong with a delegation as proposed, by field (empty: nothing). Forms show these
    next to their fields; `delegation_create` refuses with them."""
    errors: dict[str, list[str]] = {}
    absent = actor if delegator is None else _person(delegator)
    person = _person(delegate)
    if absent is None:
        errors["delegator"] = [_("No active user %(name)s.") % {"name": delegator}]
    elif absent.pk != actor.pk and not is_configurer(actor):
        errors["delegator"] = [_("Only a change manager may delegate someone else's seat.")]
    elif absent.pk != actor.pk and _is_auditor(absent):
        errors["delegator"] = [_("Auditors hold no seat to delegate.")]
    if person is None:
        errors["delegate"] = [_("No active user %(name)s.") % {"name": delegate}]
    elif absent is not None and person.pk == absent.pk:
        errors["delegate"] = [_("Nobody can delegate to themselves.")]
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
    problem = checked_text(reason, limit=DELEGATION_REASON_MAX)[1]
    if problem:
        errors["reason"] = [problem]
    return errors


def delegation_create(
    *,
    actor: User,
    delegate: User | str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    delegator: User | str | None = None,
) -> Delegation:
    """Lend the seats of `delegator` (by default the actor) to `delegate` from `starts_at` until
    `ends_at`. Only change managers delegate for someone else; auditors never take part."""
    _check_actor(actor)
    absent = actor if delegator is None else _person(delegator)
    if absent is not None and absent.pk != actor.pk and not is_configurer(actor):
        raise NotAllowed(_("Only a change manager may delegate someone else's seat."))
    errors = delegation_errors(
        actor=actor,
        delegator=delegator,
        delegate=delegate,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
    )
    if errors:
        raise InvalidInput(errors)
    person = _person(delegate)
    assert absent is not None and person is not None  # checked above
    with transaction.atomic():
        delegation = Delegation.objects.create(
            delegator=absent,
            delegate=person,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=normalise(reason or ""),
        )
        audit.delegation_recorded(
            action=AuditAction.DELEGATION_CREATED,
            actor=actor,
            delegation_id=delegation.pk,
            before=None,
            after=describe(delegation),
        )
        outbox.events_recorded()
    return delegation


def delegation_end(*, actor: User, delegation_id: int) -> Delegation:
    """End a delegation now; one that has not started yet is cancelled outright. The absent
    approver ends their own; a change manager may end anyone's."""
    _check_actor(actor)
    now = timezone.now()
    with transaction.atomic():
        # The row lock keeps two clicks on "end" from recording two endings.
        delegation = (
            Delegation.objects.select_for_update(of=("self",))
            .select_related("delegator", "delegate")
            .filter(pk=delegation_id)
            .first()
        )
        if delegation is None:
            raise NotFound(_("No such delegation."))
        if delegation.delegator_id != actor.pk and not is_configurer(actor):
            raise NotAllowed(_("Only the absent approver or a change manager may end it."))
        if delegation.ends_at <= now:
            raise InvalidTransition(_("This delegation has already ended."))
        before = describe(delegation)
        pk = delegation.pk
        if delegation.starts_at >= now:
            delegation.delete()
            delegation.pk = pk
            action, after = AuditAction.DELEGATION_CANCELLED, None
        else:
            delegation.ends_at = now
            delegation.save(update_fields=["ends_at"])
            action, after = AuditAction.DELEGATION_ENDED, describe(delegation)
        audit.delegation_recorded(
            action=action, actor=actor, delegation_id=pk, before=before, after=after
        )
        outbox.events_recorded()
    return delegation
