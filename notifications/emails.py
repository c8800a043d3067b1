"""E-mail for notifications: Django's mail framework (console under `make run`, SMTP in
production), one plain-text template per kind under templates/emails/.

Each notification is claimed before it is sent (a conditional UPDATE of emailed_at), so two
workers never send the same one; a failed send releases the claim and counts the attempt, and
the periodic sweep tries again a few times.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SWEEP_WINDOW = timedelta(days=1)
SWEEP_LIMIT = 200


def _sendable() -> QuerySet[Notification]:
    return (
        Notification.objects.filter(emailed_at__isnull=True, email_attempts__lt=MAX_ATTEMPTS)
        .exclude(user__email="")
        .select_related("user", "change")
    )


def send_for_events(event_ids: list[int]) -> int:
    """E-mail the notifications these events caused (called after they committed)."""
    return _send(_sendable().filter(event_id__in=event_ids))


def send_pending(*, limit: int = SWEEP_LIMIT) -> int:
    """E-mail what an earlier attempt could not (SMTP down, worker died); recent ones only."""
    since = timezone.now() - SWEEP_WINDOW
    return _send(_sendable().filter(created_at__gte=since).order_by("created_at")[:limit])


def _message(notification: Notification) -> EmailMessage:
    change = notification.change
    site = settings.SITE_URL.rstrip("/")
    context = {
        "notification": notification,
        "user": notification.user,
        "change": change,
        "change_url": f"{site}{reverse('web:change_detail', args=[change.pk])}" if change else "",
        "url": f"{site}{reverse('notifications:list')}",
    }
    body = render_to_string(f"emails/{notification.kind}.txt", context)
    return EmailMessage(
        subject=notification.message.splitlines()[0][:200],  # names the change
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.user.email],
    )


def _send(notifications: QuerySet[Notification]) -> int:
    sent = 0
    connection = get_connection()
    for notification in notifications:
        claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not claimed:
            continue  # another worker is sending it
        try:
            connection.send_messages([_message(notification)])
        except Exception:
            log.warning("e-mail for notification %s failed", notification.pk, exc_info=True)
            Notification.objects.filter(pk=notification.pk).update(
                emailed_at=None, email_attempts=F("email_attempts") + 1
            )
            continue
        sent += 1
    return sent
