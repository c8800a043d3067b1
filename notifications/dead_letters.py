"""The outbox's dead letters: audit events a consumer failed on OUTBOX_MAX_ATTEMPTS times. Change
managers see them, send one through once more, or dismiss it; each of those is audited."""

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit, outbox
from approvals.choices import Role
from approvals.exceptions import InvalidTransition, NotAllowed, NotFound
from approvals.outbox import DispatchStatus
from approvals.policy import Actor
from approvals.selectors import load_actor
from notifications.models import EventDispatch


def may_handle_dead_letters(actor: Actor) -> bool:
    """Change managers answer for what the system tells people and integrations."""
    return actor.has_role(Role.CHANGE_MANAGER)


def dead_letters() -> QuerySet[EventDispatch]:
    """Dead letters, oldest event first, with their events."""
    return (
        EventDispatch.objects.filter(status=DispatchStatus.DEAD)
        .select_related("event")
        .order_by("event_id", "consumer")
    )


def retrying_count() -> int:
    return EventDispatch.objects.filter(status=DispatchStatus.RETRYING).count()


def _locked_dead_letter(*, actor: User, dead_letter_id: int) -> EventDispatch:
    if not may_handle_dead_letters(load_actor(actor)):
        raise NotAllowed(_("Only change managers may handle dead letters."))
    row = EventDispatch.objects.select_for_update().filter(pk=dead_letter_id).first()
    if row is None:
        raise NotFound(_("No such dead letter."))
    if row.status != DispatchStatus.DEAD:
        raise InvalidTransition(_("This event is no longer a dead letter."))
    return row


def dead_letter_retry(*, actor: User, dead_letter_id: int) -> EventDispatch:
    """Send the event to its consumer once more at the next drain (which this action nudges);
    if it fails again it comes back to the list."""
    with transaction.atomic():
        row = _locked_dead_letter(actor=actor, dead_letter_id=dead_letter_id)
        audit.dead_letter_retried(actor=actor, dead_letter=row)
        row.status = DispatchStatus.RETRYING
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["status", "next_attempt_at"])
        outbox.events_recorded()
    return row


def dead_letter_dismiss(*, actor: User, dead_letter_id: int) -> EventDispatch:
    """Give up on the event for this consumer; it stays in the ledger as dismissed."""
    with transaction.atomic():
        row = _locked_dead_letter(actor=actor, dead_letter_id=dead_letter_id)
        audit.dead_letter_dismissed(actor=actor, dead_letter=row)
        row.status = DispatchStatus.DISMISSED
        row.next_attempt_at = None
        row.save(update_fields=["status", "next_attempt_at"])
        outbox.events_recorded()
    return row
