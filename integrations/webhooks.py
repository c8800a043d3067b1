"""Outbound webhooks. Audit events are the outbox: the dispatcher hands each batch of committed
events to `enqueue_deliveries`, which records what each subscription is owed and queues a task per
delivery. The task signs (Standard Webhooks) and POSTs it to a checked address, logging every
attempt with its status code (never the reply's body). A failed delivery records when it is due
again, and the periodic sweep, which owns every retry, queues it then; the rows survive any
receiver or broker outage.

Delivery is at least once: a worker killed after the receiver answered but before the row was
saved sends it again. `webhook-id` is the same on every attempt so receivers drop repeats.
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import certifi
import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from approvals.clock import database_now
from approvals.models import AuditEvent
from approvals.naming import change_key
from integrations import destinations
from integrations.events import event_types_of
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

log = logging.getLogger(__name__)

DELIVER_TASK = "integrations.deliver_webhook"
SECRET_PREFIX = "whsec_"
# A worker that died mid-request leaves a delivery "sending"; after this it is owed again.
STALE_SENDING = timedelta(seconds=settings.WEBHOOK_SENDING_TIMEOUT_SECONDS)
# A queued delivery is not queued again for this long, unless a worker failed it meanwhile: a
# backed-up queue must not fill with copies of the same delivery.
QUEUED_GRACE = timedelta(seconds=settings.WEBHOOK_QUEUED_GRACE_SECONDS)
LOG_LIMIT = 50  # attempts kept on the row; older ones are summarised by `attempts`
BACKOFF_BASE = settings.WEBHOOK_BACKOFF_BASE_SECONDS  # 30 s, 1 min, 2 min, … capped below
BACKOFF_CAP = settings.WEBHOOK_BACKOFF_CAP_SECONDS


def payload_for(event: AuditEvent, types: list[str]) -> dict[str, Any]:
    """The JSON body an integrator receives for one audit event."""
    change = None
    if event.change_id is not None:
        change = {
            "id": event.change_id,
            "key": change_key(event.change_id),
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
    due_if_lost = timezone.now() + QUEUED_GRACE
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
                        next_attempt_at=due_if_lost,
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


def _queue(delivery_id: int) -> None:
    from changemgmt.celery import app

    try:
        app.send_task(DELIVER_TASK, args=(delivery_id,), retry=False, ignore_result=True)
    except Exception:  # broker down: the periodic sweep queues it later
        log.warning("could not queue webhook delivery %s", delivery_id, exc_info=True)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret (its base64 part, decoded)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def secret_problem(secret: str) -> str | None:
    """Why `secret` cannot sign webhooks, or None."""
    if not secret.startswith(SECRET_PREFIX):
        return "The secret must start with whsec_ followed by base64."
    try:
        key = secret_key(secret)
    except ValueError:
        return "The part after whsec_ must be base64."
    if not 16 <= len(key) <= 96:
        return "The secret must hold 16 to 96 bytes."
    return None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, the Standard Webhooks signature."""
    message = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, body: bytes, *, now: float) -> dict[str, str]:
    timestamp = int(now)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def backoff(attempt: int) -> int:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    return int(min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_CAP))


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Mark the delivery as being sent, unless it is delivered, given up, or in another worker's
    hands. The conditional UPDATE is the lock: two workers never send the same delivery."""
    claimable = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING
    ) | WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.SENDING, sending_since__lt=now - STALE_SENDING
    )
    if not claimable.update(status=DeliveryStatus.SENDING, sending_since=now):
        return None
    return WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def _request(destination: destinations.Destination, body: bytes, headers: dict[str, str]) -> int:
    """POST to the first checked address and return the status code; the reply's body is never
    read. TLS still verifies the certificate against the host name."""
    timeout = urllib3.Timeout(
        connect=settings.WEBHOOK_TIMEOUT_SECONDS, read=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    options: dict[str, Any] = {"timeout": timeout, "retries": False, "maxsize": 1}
    if destination.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            destination.addresses[0],
            destination.port,
            server_hostname=destination.host,
            assert_hostname=destination.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(destination.addresses[0], destination.port, **options)
    default_port = 443 if destination.scheme == "https" else 80
    host = destination.host if ":" not in destination.host else f"[{destination.host}]"
    if destination.port != default_port:
        host = f"{host}:{destination.port}"
    try:
        response = pool.urlopen(
            "POST",
            destination.target,
            body=body,
            headers={**headers, "Host": host},
            redirect=False,
            assert_same_host=False,
            preload_content=False,
        )
        status = int(response.status)
        response.close()
        return status
    finally:
        pool.close()


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "changemgmt-webhooks/2",
        "X-Change-Event": delivery.event_type,
        **signed_headers(
            delivery.subscription.secret, delivery.payload["id"], body, now=time.time()
        ),
    }
    try:
        destination = destinations.check(delivery.subscription.url)
        status_code = _request(destination, body, headers)
    except destinations.UnsafeDestination as refused:
        return None, f"Refused: {refused}"[:500]
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return None, type(exc).__name__
    if 200 <= status_code < 300:
        return status_code, ""
    return status_code, f"HTTP {status_code}"


def deliver(delivery_id: int) -> bool | None:
    """One attempt. True: delivered; False: failed (due again after a backoff, or given up after
    WEBHOOK_MAX_ATTEMPTS); None: nothing to do (delivered, gone, or being sent elsewhere)."""
    # Times by the database's clock (see approvals.clock), the attempt's length by this one.
    started = database_now()
    delivery = _claim(delivery_id, started)
    if delivery is None:
        return None
    began = time.monotonic()
    status_code, error = _post(delivery)
    took = timedelta(seconds=time.monotonic() - began)
    now = started + took
    entry = {
        "at": started.isoformat(),
        "status_code": status_code,
        "error": error,
        "ms": int(took.total_seconds() * 1000),
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
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempts))
    delivery.save()
    return not error


def owed_deliveries(now: datetime | None = None) -> list[int]:
    """Deliveries that are due and not queued by a live worker (for the periodic sweep)."""
    now = now or database_now()
    due = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exclude(
        next_attempt_at__gt=now
    )
    stale = WebhookDelivery.objects.filter(
        status=DeliveryStatus.SENDING, sending_since__lt=now - STALE_SENDING
    )
    return list((due | stale).order_by("pk").values_list("pk", flat=True)[:500])


def requeue_owed(*, now: datetime | None = None) -> int:
    """Queue every delivery that is due: first tries whose message was lost, retries whose backoff
    has passed, and those a dead worker left "sending"."""
    now = now or database_now()
    owed = owed_deliveries(now)
    WebhookDelivery.objects.filter(pk__in=owed, status=DeliveryStatus.PENDING).update(
        next_attempt_at=now + QUEUED_GRACE
    )
    for pk in owed:
        _queue(pk)
    return len(owed)


def redeliver(delivery: WebhookDelivery) -> None:
    """Give a failed delivery a fresh start (admin action)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now() + QUEUED_GRACE,
        sending_since=None,
    )
    transaction.on_commit(partial(_queue, delivery.pk))
