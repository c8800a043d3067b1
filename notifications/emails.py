"""E-mail for notifications: Django's mail framework (console under `make run`, SMTP in
production), one plain-text template per kind under templates/emails/.

Each notification is claimed before it is sent (a conditional UPDATE of email_claimed_at), so two
workers never send it at once; a failed send releases the claim, counts the attempt and sets when
it is due again; a claim left by a worker that died is taken over after STALE_CLAIM. Delivery is
therefore at least once: every copy of one notification's e-mail carries the same Message-ID, so
mail systems that de-duplicate drop the repeat.
"""

import logging
from datetime import datetime, timedelta, tzinfo

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Now
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from approvals.clock import database_now
from approvals.localization import language_of, zone_named
from approvals_channels import mail as channel_mail
from approvals_channels import preferences
from notifications.messages import text_of
from notifications.models import Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
STALE_CLAIM = timedelta(seconds=settings.EMAIL_CLAIM_TIMEOUT_SECONDS)
RETRY_BASE = timedelta(seconds=settings.EMAIL_RETRY_BASE_SECONDS)
RETRY_CAP = timedelta(seconds=settings.EMAIL_RETRY_CAP_SECONDS)
SWEEP_LIMIT = 200


def _sendable(now: datetime) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(emailed_at__isnull=True, email_attempts__lt=MAX_ATTEMPTS)
        .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - STALE_CLAIM))
        .filter(Q(email_retry_at__isnull=True) | Q(email_retry_at__lte=now))
        .exclude(user__email="")
        .exclude(user__channel_preferences__email=False)
        .select_related("user", "user__profile", "user__channel_preferences", "change")
    )


def send_for_events(event_ids: list[int]) -> int:
    """E-mail the notifications these events caused (called after they committed)."""
    now = database_now()
    return _send(_sendable(now).filter(event_id__in=event_ids), now=now)


def send_pending(*, limit: int = SWEEP_LIMIT) -> int:
    """E-mail what an earlier attempt could not (SMTP down, worker died), whatever its age."""
    now = database_now()
    return _send(_sendable(now).order_by("created_at")[:limit], now=now)


def message_id(notification: Notification) -> str:
    """The same for every copy of one notification's e-mail (per event, recipient and kind)."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return (
        f"<notification.{notification.event_id or notification.pk}."
        f"{notification.user_id}.{notification.kind}@{domain}>"
    )


def recipient_language(notification: Notification) -> str:
    """The language the recipient reads: their profile's, or the site's."""
    profile = getattr(notification.user, "profile", None)  # None: an account without a profile
    return language_of(profile.language if profile is not None else "")


def recipient_zone(notification: Notification) -> tzinfo:
    """The time zone the recipient reads times in: their profile's, or the site's."""
    profile = getattr(notification.user, "profile", None)
    return zone_named(profile.time_zone if profile is not None else "")


def _message(notification: Notification) -> EmailMessage:
    change = notification.change
    site = settings.SITE_URL.rstrip("/")
    language = recipient_language(notification)
    with translation.override(language), timezone.override(recipient_zone(notification)):
        text = text_of(notification)
        context = {
            "notification": notification,
            "text": text,
            "user": notification.user,
            "change": change,
            "change_url": f"{site}{reverse('web:change_detail', args=[change.pk])}"
            if change
            else "",
            "url": f"{site}{reverse('notifications:list')}",
        }
        links = channel_mail.decision_links(notification)
        context["links"] = links
        body = render_to_string(f"emails/{notification.kind}.txt", context)
        body += channel_mail.links_text(links)
        message = EmailMultiAlternatives(
            subject=text.splitlines()[0][:200],  # names the change
            body=str(body),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.user.email],
            headers={"Message-ID": message_id(notification), "Content-Language": language},
        )
        # HTML beside the text, with the approve / reject buttons of a "please decide" e-mail.
        message.attach_alternative(channel_mail.html_of(context), "text/html")
    return message


def _claim(notification: Notification, now: datetime) -> bool:
    # The conditional UPDATE is the lock; a stale claim (its worker died) may be taken over.
    unclaimed = Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - STALE_CLAIM)
    return bool(
        Notification.objects.filter(unclaimed, pk=notification.pk, emailed_at__isnull=True).update(
            email_claimed_at=now
        )
    )


def _failed(notification: Notification, now: datetime) -> None:
    attempts = notification.email_attempts + 1
    wait = min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CAP)
    Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        email_claimed_at=None, email_attempts=F("email_attempts") + 1, email_retry_at=now + wait
    )


def _send(notifications: QuerySet[Notification], *, now: datetime) -> int:
    sent = 0
    connection = get_connection()
    for notification in notifications:
        quiet_until = preferences.quiet_until(notification.user, now=now)
        if quiet_until is not None:
            # The recipient's quiet hours: sent when they end, not counted as a failure.
            Notification.objects.filter(pk=notification.pk).update(email_retry_at=quiet_until)
            continue
        if not _claim(notification, now):
            continue  # another worker is sending it
        try:
            connection.send_messages([_message(notification)])
        except Exception:
            log.warning("e-mail for notification %s failed", notification.pk, exc_info=True)
            _failed(notification, now)
            continue
        Notification.objects.filter(pk=notification.pk).update(emailed_at=Now())
        sent += 1
    return sent
