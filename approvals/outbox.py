"""Side effects after commit. Audit events are the outbox: every action writes one in its own
transaction, and a task hands committed, not yet dispatched events to each consumer named in
settings.AUDIT_EVENT_CONSUMERS (notifications, webhooks). After commit we only nudge that task; if
the broker is down, the periodic drain picks the events up later, so nothing is lost, and the
EventDispatch ledger (unique per event and consumer) makes sure nothing is sent twice."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.module_loading import import_string

from approvals.models import AuditEvent

log = logging.getLogger(__name__)

DISPATCH_TASK = "approvals.dispatch_events"
# Bounds one run's work per consumer; what is left waits for the next kick or periodic run.
MAX_BATCHES_PER_RUN = 50

Consumer = Callable[[list[AuditEvent]], None]


def _kick() -> None:
    from changemgmt.celery import app

    try:
        # This runs in the web request after commit: give an unreachable broker one quick try,
        # not the default seconds of reconnecting. No result is wanted either, so Celery does not
        # reach for the result backend.
        with app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
            app.send_task(DISPATCH_TASK, producer=producer, retry=False, ignore_result=True)
    except Exception:  # the broker is down: the periodic drain will deliver
        log.warning(
            "could not queue %s; the periodic drain will deliver", DISPATCH_TASK, exc_info=True
        )


def events_recorded() -> None:
    """Call inside an action's transaction: dispatch runs only if and when it commits."""
    transaction.on_commit(_kick)


def events_dispatch(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Hand every committed, not yet dispatched event of the recent window to each consumer, in
    batches; returns how many (event, consumer) hand-overs were made."""
    now = now or timezone.now()
    since = now - timedelta(hours=settings.AUDIT_DISPATCH_WINDOW_HOURS)
    size = batch_size or settings.AUDIT_DISPATCH_BATCH_SIZE
    total = 0
    for path in settings.AUDIT_EVENT_CONSUMERS:
        try:
            consumer = import_string(path)
        except ImportError:
            log.exception("audit event consumer %s cannot be imported; its events wait", path)
            continue
        total += _drain(path, consumer, since=since, now=now, size=size)
    return total


def _drain(path: str, consumer: Consumer, *, since: datetime, now: datetime, size: int) -> int:
    handed = 0
    conflicts = batches = 0
    while conflicts < 3 and batches < MAX_BATCHES_PER_RUN:
        batches += 1
        try:
            count = _dispatch_batch(path, consumer, since=since, now=now, size=size)
        except IntegrityError:
            # A concurrent drain claimed some of these events first; it delivers them. Look again.
            conflicts += 1
            continue
        except (OperationalError, InterfaceError):
            raise  # the database itself is unreachable: let the task retry with backoff
        except Exception:
            log.exception("audit event consumer %s failed; its events stay pending", path)
            break
        handed += count
        if count < size:
            break
    return handed


def _dispatch_batch(
    path: str, consumer: Consumer, *, since: datetime, now: datetime, size: int
) -> int:
    from notifications.models import EventDispatch

    done = EventDispatch.objects.filter(event=OuterRef("pk"), consumer=path)
    events = list(
        AuditEvent.objects.filter(occurred_at__gte=since)
        .exclude(Exists(done))
        .order_by("seq")[:size]
    )
    if not events:
        return 0
    # The ledger rows and the consumer's own writes commit together: a consumer that fails
    # leaves its events pending, and one that succeeded never sees them again.
    with transaction.atomic():
        EventDispatch.objects.bulk_create(
            EventDispatch(event=event, consumer=path, dispatched_at=now) for event in events
        )
        consumer(events)
    return len(events)


@shared_task(
    name=DISPATCH_TASK,
    autoretry_for=(OperationalError, InterfaceError),
    **settings.TASK_RETRY_POLICY,
)
def dispatch_events() -> int:
    """The outbox drain: after every action, and periodically for what a broker outage left."""
    return events_dispatch()
