"""What e-mail adds for approvers: approve / reject links in each "please decide" e-mail (a step
opened for them, a reminder, an escalation to them), an HTML part beside the text, and the daily
digest of everything waiting. notifications.emails builds and sends the messages."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from approvals.choices import StepStatus
from approvals.localization import language_of
from approvals.models import ApprovalStep, AuditEvent
from approvals.selectors import inbox, load_actor
from approvals_channels import links, preferences
from approvals_channels.models import ChannelPreferences, LinkChannel
from notifications.announced import waiting_step_id
from notifications.models import Notification, NotificationKind

PLEASE_DECIDE = (
    NotificationKind.STEP_OPENED,
    NotificationKind.REMINDER,
    NotificationKind.ESCALATION,
)


def _step_id(kind: str, action: str, data: dict[str, Any]) -> Any:
    """The step a "please decide" notification is about: the step opened, re-opened or whose
    seat moved to the recipient; the reminded or escalated step."""
    if kind == NotificationKind.STEP_OPENED:
        return waiting_step_id(action, data)
    return data.get("step_id")


def decision_links(notification: Notification) -> dict[str, str]:
    """{"approve": url, "reject": url} for a "please decide" e-mail whose step is still open and
    not yet due; empty otherwise (the e-mail then only links to the change)."""
    if notification.kind not in PLEASE_DECIDE or notification.event_id is None:
        return {}
    event = (
        AuditEvent.objects.filter(pk=notification.event_id).values_list("action", "data").first()
    )
    step_id = _step_id(notification.kind, *event) if event else None
    if not isinstance(step_id, int):
        return {}
    step = ApprovalStep.objects.filter(pk=step_id, status=StepStatus.PENDING).first()
    if step is None:
        return {}
    urls: dict[str, str] = {}
    for decision in links.DECISIONS:
        token = links.issue(
            step=step, user=notification.user, decision=decision, channel=LinkChannel.EMAIL
        )
        if token is None:
            return {}
        urls[str(decision)] = links.url_of(token)
    return urls


def html_of(context: dict[str, Any]) -> str:
    """The HTML part of a notification e-mail (in the active language)."""
    return render_to_string("emails/notification.html", context)


def links_text(urls: dict[str, str]) -> SafeString:
    """The approve / reject links as the text part shows them (nothing without links)."""
    if not urls:
        return SafeString("")
    return render_to_string("emails/_decision_links.txt", {"links": urls})


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def digest_message(user: User) -> EmailMultiAlternatives | None:
    """The digest of what waits for `user`'s decision, in their language, with times in their
    time zone; None when nothing waits."""
    steps = list(inbox(load_actor(user))[:200])
    if not steps:
        return None
    profile = getattr(user, "profile", None)
    language = language_of(getattr(profile, "language", "") or "")
    zone = preferences.zone_named(preferences.zone_name(user))
    with translation.override(language), timezone.override(zone):
        context = {
            "user": user,
            "steps": [
                {
                    "key": step.change.key,
                    "title": step.change.title,
                    "step": step,
                    "due_at": step.due_at,
                    "url": _site(reverse("web:change_detail", args=[step.change_id])),
                }
                for step in steps
            ],
            "inbox_url": _site(reverse("web:inbox")),
        }
        subject = _("%(count)d changes wait for your decision") % {"count": len(steps)}
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("emails/digest.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
            headers={"Content-Language": language},
        )
        message.attach_alternative(render_to_string("emails/digest.html", context), "text/html")
    return message


def send_digests(*, now: Any = None) -> int:
    """Send each digest that is due: the person's digest hour has come in their time zone and
    no digest went to them today. Run hourly; safe to run twice (the day is claimed first)."""
    from django.core.mail import get_connection

    now = now or timezone.now()
    sent = 0
    rows = ChannelPreferences.objects.filter(digest=True, email=True, user__is_active=True).exclude(
        user__email=""
    )
    connection = get_connection()
    for row in rows.select_related("user", "user__profile"):
        zone = preferences.zone_named(preferences.zone_name(row.user))
        local = timezone.localtime(now, zone)
        if local.hour < row.digest_hour or row.digest_sent_on == local.date():
            continue
        claimed = ChannelPreferences.objects.filter(pk=row.pk).filter(
            Q(digest_sent_on__isnull=True) | Q(digest_sent_on__lt=local.date())
        )
        if not claimed.update(digest_sent_on=local.date()):
            continue
        message = digest_message(row.user)
        if message is None:
            continue
        try:
            connection.send_messages([message])
        except Exception:
            # Unclaim the day: the next hourly run tries again.
            ChannelPreferences.objects.filter(pk=row.pk).update(digest_sent_on=row.digest_sent_on)
            raise
        sent += 1
    return sent
