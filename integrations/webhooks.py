"""Outbound webhooks. Audit events are the outbox: the dispatcher hands each batch of committed
events to `enqueue_deliveries`, which records what each subscription is owed and queues a task per
delivery. The task signs and POSTs it, logging every attempt, and retries with backoff until the
receiver answers 2xx; the rows survive any receiver or broker outage, and a periodic sweep
re-queues whatever is still owed."""

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from approvals.models import AuditEvent
from integrations.events import event_types_of
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Change-Signature"
# A worker that died mid-request leaves a delivery "sending"; after this it is owed again.
STALE_SENDING = timedelta(minutes=10)
LOG_LIMIT = 50  # attempts kept on the row; older ones are summarised by `attempts`


def payload_for(event: AuditEvent, types: list[str]) -> dict[str, Any]:
    """The JSON body an integrator receives for one audit event."""
    change = None
    if event.change_id is not None:
        change = {
            "id": event.change_id,
            "key": f"CHG-{event.change_id:06d}",
            "state": event.to_state,
        }
    return {
        "id": f"evt_{event.seq}",
        "type": types[0],
        "types": types,
        "occurred_at": event.occurred_at.isoformat(),
        "change": change,
        "audit": {
            "seq": event.seq,
            "action": event.action,
            "actor": event.actor_name or None,
            "on_behalf_of": event.on_behalf_of_name or None,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "data": json.loads(json.dumps(event.data, cls=DjangoJSONEncoder)),
            "hash": event.hash,
        },
    }


def enqueue_deliveries(events: Iterable[AuditEvent]) -> int:
    """Record a delivery per (matching active subscription, event) and queue it after commit.

    Safe to call twice with the same events: the unique (subscription, event) pair makes the
    second call create nothing, and the task ignores deliveries that are no longer owed.
    Returns how many deliveries were created.
    """
    subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
    if not subscriptions:
        return 0
    wanted: list[WebhookDelivery] = []
    for event in events:
        types = event_types_of(event)
        for subscription in subscriptions:
            matching = [t for t in types if subscription.wants(t)]
            if matching:
                wanted.append(
                    WebhookDelivery(
                        subscription=subscription,
                        event_id=event.seq,
                        event_type=matching[0],
                        payload=payload_for(event, matching),
                    )
                )
    if not wanted:
        return 0
    with transaction.atomic():
        existing = set(
            WebhookDelivery.objects.filter(
                event_id__in={d.event_id for d in wanted},
                subscription__in=subscriptions,
            ).values_list("subscription_id", "event_id")
        )
        fresh = [d for d in wanted if (d.subscription_id, d.event_id) not in existing]
        WebhookDelivery.objects.bulk_create(fresh, ignore_conflicts=True)
        created = list(
            WebhookDelivery.objects.filter(
                event_id__in={d.event_id for d in fresh},
                status=DeliveryStatus.PENDING,
                attempts=0,
            ).values_list("pk", flat=True)
        )
        for pk in created:
            transaction.on_commit(partial(_queue, pk))
    return len(fresh)


def _queue(delivery_id: int, countdown: float = 0) -> None:
    from integrations.tasks import deliver_webhook

    try:
        deliver_webhook.apply_async((delivery_id,), countdown=countdown)
    except Exception:  # broker down: the periodic sweep queues it later
        log.warning("could not queue webhook delivery %s", delivery_id, exc_info=True)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `"{timestamp}.{body}"` with the subscription's secret."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), parts.get("v1", ""))


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Mark the delivery as being sent, unless it is delivered, given up, or in another worker's
    hands. The conditional UPDATE is the lock: two workers never send the same delivery."""
    now = timezone.now()
    claimable = WebhookDelivery.objects.filter(pk=delivery_id).filter(
        status__in=[DeliveryStatus.PENDING]
    ) | WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.SENDING, sending_since__lt=now - STALE_SENDING
    )
    if not claimable.update(status=DeliveryStatus.SENDING, sending_since=now):
        return None
    return WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "changemgmt-webhooks/1",
        "X-Change-Event": delivery.event_type,
        "X-Change-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(delivery.subscription.secret, timestamp, body),
    }
    try:
        response = requests.post(
            delivery.subscription.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def deliver(delivery_id: int, *, retry_in: float | None) -> bool | None:
    """One attempt. True: delivered; False: failed (owed again in `retry_in` seconds, or given up
    when `retry_in` is None); None: nothing to do (delivered, gone, or being sent elsewhere)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    started = timezone.now()
    status_code, error = _post(delivery)
    now = timezone.now()
    entry = {
        "at": started.isoformat(),
        "status_code": status_code,
        "error": error,
        "ms": int((now - started).total_seconds() * 1000),
    }
    delivery.attempts += 1
    delivery.attempt_log = [*delivery.attempt_log, entry][-LOG_LIMIT:]
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.sending_since = None
    if not error:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif retry_in is None:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=retry_in)
    delivery.save()
    return not error


def owed_deliveries(now: Any = None) -> list[int]:
    """Deliveries that are due and not queued by a live worker (for the periodic sweep)."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exclude(
        next_attempt_at__gt=now
    )
    stale = WebhookDelivery.objects.filter(
        status=DeliveryStatus.SENDING, sending_since__lt=now - STALE_SENDING
    )
    return list((due | stale).order_by("pk").values_list("pk", flat=True)[:500])


def requeue_owed() -> int:
    """Queue every owed delivery again (a lost broker message must not lose a delivery)."""
    owed = owed_deliveries()
    for pk in owed:
        _queue(pk)
    return len(owed)


def redeliver(delivery: WebhookDelivery) -> None:
    """Give a failed delivery a fresh start (admin action)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=None, sending_since=None
    )
    transaction.on_commit(partial(_queue, delivery.pk))
