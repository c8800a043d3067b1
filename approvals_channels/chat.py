"""Chat messages when a step waits for decision: an audit-event outbox consumer
(settings.AUDIT_EVENT_CONSUMERS) records one delivery per matching chat target and event, and
sends them once that transaction has committed. A failed send is retried with backoff by the
periodic sweep until CHAT_MAX_ATTEMPTS; a delivery in the quiet hours of an approver it
addresses waits until they end.

A group robot shows the message to everyone in the group, so it carries no decision
credential: its one button opens the change page, behind sign-in, where the approver decides
under every control of the workflow. One-time decision links go only to an approver's own
e-mail (see mail and links).
"""

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from approvals.choices import AuditAction, StepStatus
from approvals.localization import language_of, localized
from approvals.models import ApprovalStep, AuditEvent, StepApprover
from approvals.outbox import retry_delay
from approvals_channels import preferences
from approvals_channels.formats import ChatMessage, request_for
from approvals_channels.models import ChatDelivery, ChatTarget, DeliveryStatus
from integrations import destinations
from integrations.webhooks import _request as post_to
from notifications.announced import opened_step_id

log = logging.getLogger(__name__)

STALE_CLAIM_SECONDS = 600
SWEEP_LIMIT = 200


def _step_of(event: AuditEvent) -> int | None:
    opened = opened_step_id(event.data)
    if opened is not None:
        return opened
    if event.action in (AuditAction.REMINDED, AuditAction.ESCALATED) and event.data.get("step_id"):
        return int(event.data["step_id"])
    return None


def _targets_for(step: ApprovalStep, targets: list[ChatTarget]) -> list[ChatTarget]:
    change = step.change
    departments = {d.pk for d in change.departments.all()}
    requester_department = getattr(
        getattr(change.requester, "profile", None), "department_id", None
    )
    if requester_department:
        departments.add(requester_department)
    chosen = []
    for target in targets:
        if target.policy_step_id is not None:
            policy_step = target.policy_step
            if not (
                policy_step is not None
                and policy_step.policy.name == change.policy_name
                and policy_step.order == step.order
            ):
                continue
        if target.department_id is not None and target.department_id not in departments:
            continue
        chosen.append(target)
    return chosen


def enqueue_messages(events: Iterable[AuditEvent]) -> int:
    """The outbox consumer: a delivery per (matching active target, event that opened a step,
    reminded or escalated it). Safe to run twice: the unique (target, event, step) makes the
    second run create nothing."""
    events = list(events)
    wanted = {event.pk: step_id for event in events if (step_id := _step_of(event))}
    if not wanted:
        return 0
    targets = list(ChatTarget.objects.filter(is_active=True).select_related("policy_step__policy"))
    if not targets:
        return 0
    steps = (
        ApprovalStep.objects.select_related("change", "change__requester__profile")
        .prefetch_related("change__departments")
        .in_bulk(set(wanted.values()))
    )
    now = timezone.now()
    rows = [
        ChatDelivery(target=target, event_id=event_id, step=step, next_attempt_at=now)
        for event_id, step_id in wanted.items()
        if (step := steps.get(step_id)) is not None
        for target in _targets_for(step, targets)
    ]
    if not rows:
        return 0
    ChatDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    event_ids = list(wanted)
    transaction.on_commit(lambda: send_for_events(event_ids))
    return len(rows)


def _due(now: datetime) -> QuerySet[ChatDelivery]:
    stale = now - timedelta(seconds=STALE_CLAIM_SECONDS)
    return (
        ChatDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .select_related("target", "step", "step__change", "step__change__requester")
    )


def send_for_events(event_ids: list[int]) -> int:
    now = timezone.now()
    return _send(_due(now).filter(event_id__in=event_ids), now=now)


def send_pending(*, limit: int = SWEEP_LIMIT) -> int:
    """What could not be sent at once (a platform down, quiet hours), when it is due."""
    now = timezone.now()
    return _send(_due(now).order_by("next_attempt_at", "pk")[:limit], now=now)


def _approvers(step: ApprovalStep) -> list:
    seats = StepApprover.objects.filter(step=step, user__is_active=True).select_related(
        "user", "user__profile", "user__channel_preferences"
    )
    return [seat.user for seat in seats.order_by("user_id")]


def message_for(delivery: ChatDelivery) -> ChatMessage:
    """The message in the target's language, with one button to the change page."""
    step, change = delivery.step, delivery.step.change
    site = settings.SITE_URL.rstrip("/")
    with translation.override(language_of(delivery.target.language)):
        step_name = localized(step)
        title = _("%(key)s waits for a decision on “%(step)s”") % {
            "key": change.key,
            "step": step_name,
        }
        facts = [
            (_("Change"), f"{change.key} {change.title}"),
            (_("Requester"), change.requester.get_full_name() or change.requester.get_username()),
            (_("Risk"), str(change.get_risk_display() or "—")),
            (
                _("Planned window"),
                f"{timezone.localtime(change.planned_start):%Y-%m-%d %H:%M} – "
                f"{timezone.localtime(change.planned_end):%Y-%m-%d %H:%M}"
                if change.planned_start and change.planned_end
                else "—",
            ),
        ]
        url = site + reverse("web:change_detail", args=[change.pk])
        label = (
            _("Review and decide") if step.status == StepStatus.PENDING else _("Open the change")
        )
        buttons = [(label, url)]
    return ChatMessage(title=title, facts=facts, buttons=buttons)


def _claim(delivery: ChatDelivery, now: datetime) -> bool:
    stale = now - timedelta(seconds=STALE_CLAIM_SECONDS)
    unclaimed = Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    return bool(
        ChatDelivery.objects.filter(
            unclaimed, pk=delivery.pk, status=DeliveryStatus.PENDING
        ).update(claimed_at=now)
    )


def _post(delivery: ChatDelivery, message: ChatMessage) -> tuple[int | None, str]:
    target = delivery.target
    request = request_for(
        platform=target.platform,
        url=target.url,
        secret=target.secret,
        message=message,
        now=time.time(),
    )
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "changemgmt-chat/1"}
    try:
        destination = destinations.check(request.url)
        status = post_to(destination, request.body, headers)
    except destinations.UnsafeDestination as refused:
        return None, f"Refused: {refused}"[:500]
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return None, type(error).__name__
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


def _send(deliveries: QuerySet[ChatDelivery], *, now: datetime) -> int:
    sent = 0
    for delivery in deliveries:
        approvers = _approvers(delivery.step)
        quiet = [
            until
            for user in approvers
            if preferences.of(user).chat
            and (until := preferences.quiet_until(user, now=now)) is not None
        ]
        if quiet:
            # An approver it addresses is in quiet hours: it goes out when the last of them end.
            ChatDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=max(quiet))
            continue
        if not _claim(delivery, now):
            continue
        status, error = _post(delivery, message_for(delivery))
        attempts = delivery.attempts + 1
        fields: dict[str, Any] = {
            "attempts": F("attempts") + 1,
            "last_status_code": status,
            "last_error": error,
            "claimed_at": None,
        }
        if not error:
            fields |= {
                "status": DeliveryStatus.DELIVERED,
                "delivered_at": timezone.now(),
                "next_attempt_at": None,
            }
            sent += 1
        elif attempts >= settings.CHAT_MAX_ATTEMPTS:
            log.warning("chat delivery %s gave up: %s", delivery.pk, error)
            fields |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
        else:
            log.warning("chat delivery %s failed: %s; retried later", delivery.pk, error)
            fields |= {"next_attempt_at": now + retry_delay(attempts)}
        ChatDelivery.objects.filter(pk=delivery.pk).update(**fields)
    return sent
