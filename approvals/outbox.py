"""Side effects after commit. Audit events are the outbox: every action writes one in its own
transaction, and a task hands committed events to each consumer named in
settings.AUDIT_EVENT_CONSUMERS (notifications, webhooks), which the core knows only by name.
After commit we only nudge that task; if the broker is down, the periodic drain picks the events
up later, so nothing is lost.

Each (event, consumer) pair has one row in the ledger named by settings.AUDIT_DISPATCH_LEDGER:
delivered, retrying, dead or dismissed. A consumer that fails on one event never holds up the
events after it: the batch is replayed one event at a time, the failing event is retried with
backoff, and after OUTBOX_MAX_ATTEMPTS failures it waits on the dead-letter list for a change
manager. Nothing is dropped for its age.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, models, transaction
from django.db.models import Exists, F, Min, OuterRef
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from approvals.models import AuditEvent

log = logging.getLogger(__name__)

DISPATCH_TASK = "approvals.dispatch_events"
# Bounds one run's work per consumer; what is left waits for the next kick or periodic run.
MAX_BATCHES_PER_RUN = 50
# A transaction still in flight holds a sequence number it has not committed yet: the floor
# below which every event is known to be handed over only passes events older than this.
FLOOR_SETTLE = timedelta(hours=1)
RETRY_BASE_SECONDS = 60
RETRY_CAP_SECONDS = 3600
ERROR_LIMIT = 2000

Consumer = Callable[[list[AuditEvent]], None]


class DispatchStatus(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")
    RETRYING = "retrying", _("Failed, will retry")
    DEAD = "dead", _("Dead letter")
    DISMISSED = "dismissed", _("Dismissed")


UNSETTLED = (DispatchStatus.RETRYING, DispatchStatus.DEAD)


def ledger() -> Any:
    """The ledger model (settings.AUDIT_DISPATCH_LEDGER), looked up like the user model, so the
    core does not import the app that stores it."""
    return apps.get_model(settings.AUDIT_DISPATCH_LEDGER)


def _floors() -> Any:
    return apps.get_model(settings.AUDIT_DISPATCH_FLOOR)


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


def retry_delay(attempts: int) -> timedelta:
    """How long a failed event waits after its `attempts`-th failure."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_CAP_SECONDS))


def events_dispatch(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Hand every committed event not yet handed over, and every failed one that is due again,
    to each consumer; returns how many (event, consumer) deliveries succeeded."""
    now = now or timezone.now()
    size = batch_size or settings.AUDIT_DISPATCH_BATCH_SIZE
    total = 0
    for path in settings.AUDIT_EVENT_CONSUMERS:
        try:
            consumer = import_string(path)
        except ImportError:
            log.exception("audit event consumer %s cannot be imported; its events wait", path)
            continue
        total += _drain(path, consumer, now=now, size=size)
        total += _retry_due(path, consumer, now=now, size=size)
        _raise_floor(path, now=now)
    return total


def _floor(path: str) -> int:
    row = _floors().objects.filter(consumer=path).values_list("below_seq", flat=True).first()
    return row or 0


def _not_handed_over(path: str) -> Any:
    done = ledger().objects.filter(event=OuterRef("pk"), consumer=path)
    return AuditEvent.objects.filter(seq__gte=_floor(path)).exclude(Exists(done)).order_by("seq")


def _drain(path: str, consumer: Consumer, *, now: datetime, size: int) -> int:
    delivered = 0
    for _batch in range(MAX_BATCHES_PER_RUN):
        events = list(_not_handed_over(path)[:size])
        if not events:
            break
        try:
            delivered += _deliver_batch(path, consumer, events, now=now)
        except (OperationalError, InterfaceError):
            raise  # the database itself is unreachable: let the task retry with backoff
        except Exception:
            # A poisoned event or a concurrent drain: one at a time, so each event stands alone.
            delivered += sum(_deliver_one(path, consumer, event, now=now) for event in events)
        if len(events) < size:
            break
    return delivered


def _deliver_batch(
    path: str, consumer: Consumer, events: list[AuditEvent], *, now: datetime
) -> int:
    # The ledger rows and the consumer's own writes commit together: a consumer that fails
    # leaves its events unhanded, and one that succeeded never sees them again.
    with transaction.atomic():
        ledger().objects.bulk_create(
            ledger()(event=event, consumer=path, last_attempt_at=now, dispatched_at=now)
            for event in events
        )
        consumer(events)
    return len(events)


def _deliver_one(path: str, consumer: Consumer, event: AuditEvent, *, now: datetime) -> bool:
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    ledger().objects.create(
                        event=event, consumer=path, last_attempt_at=now, dispatched_at=now
                    )
            except IntegrityError:
                return False  # a concurrent drain has it
            consumer([event])
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        log.exception("audit event #%s failed in consumer %s; retried later", event.pk, path)
        _first_failure(path, event, error, now=now)
        return False
    return True


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_LIMIT]


def _first_failure(path: str, event: AuditEvent, error: Exception, *, now: datetime) -> None:
    dead = settings.OUTBOX_MAX_ATTEMPTS <= 1
    try:
        with transaction.atomic():
            ledger().objects.create(
                event=event,
                consumer=path,
                status=DispatchStatus.DEAD if dead else DispatchStatus.RETRYING,
                attempts=1,
                last_error=_error_text(error),
                last_attempt_at=now,
                next_attempt_at=None if dead else now + retry_delay(1),
            )
    except IntegrityError:
        pass  # a concurrent drain delivered it meanwhile


def _retry_due(path: str, consumer: Consumer, *, now: datetime, size: int) -> int:
    due = list(
        ledger()
        .objects.filter(consumer=path, status=DispatchStatus.RETRYING, next_attempt_at__lte=now)
        .select_related("event")
        .order_by("event_id")[:size]
    )
    return sum(_retry_one(row, consumer, now=now) for row in due)


def _retry_one(row: Any, consumer: Consumer, *, now: datetime) -> bool:
    try:
        with transaction.atomic():
            # The conditional UPDATE is the claim: two drains never retry the same row at once.
            claimed = (
                ledger()
                .objects.filter(pk=row.pk, status=DispatchStatus.RETRYING)
                .update(
                    status=DispatchStatus.DELIVERED,
                    attempts=F("attempts") + 1,
                    last_attempt_at=now,
                    next_attempt_at=None,
                    dispatched_at=now,
                )
            )
            if not claimed:
                return False
            consumer([row.event])
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        log.exception("audit event #%s failed again in %s", row.event_id, row.consumer)
        _later_failure(row.pk, error, now=now)
        return False
    return True


def _later_failure(pk: int, error: Exception, *, now: datetime) -> None:
    with transaction.atomic():
        row = ledger().objects.select_for_update().get(pk=pk)
        if row.status != DispatchStatus.RETRYING:
            return
        row.attempts += 1
        row.last_error = _error_text(error)
        row.last_attempt_at = now
        if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            row.status, row.next_attempt_at = DispatchStatus.DEAD, None
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
        row.save()


def _raise_floor(path: str, *, now: datetime) -> None:
    floor = _floor(path)
    first_missing = _not_handed_over(path).values_list("seq", flat=True).first()
    first_recent = (
        AuditEvent.objects.filter(seq__gte=floor, occurred_at__gt=now - FLOOR_SETTLE)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    candidates = [seq for seq in (first_missing, first_recent) if seq is not None]
    if candidates:
        new_floor = min(candidates)
    else:
        last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
        new_floor = last + 1 if last is not None else floor
    if new_floor > floor:
        _floors().objects.update_or_create(consumer=path, defaults={"below_seq": new_floor})


def oldest_undelivered_age(*, now: datetime | None = None) -> timedelta | None:
    """How long the oldest event not yet delivered to every consumer has waited (not handed
    over, retrying or dead; dismissed ones are settled), or None when nothing waits."""
    now = now or timezone.now()
    oldest: list[datetime] = []
    for path in settings.AUDIT_EVENT_CONSUMERS:
        first = _not_handed_over(path).values_list("occurred_at", flat=True).first()
        if first is not None:
            oldest.append(first)
    stuck = ledger().objects.filter(status__in=UNSETTLED).aggregate(at=Min("event__occurred_at"))
    if stuck["at"] is not None:
        oldest.append(stuck["at"])
    return max(now - min(oldest), timedelta(0)) if oldest else None


@shared_task(
    name=DISPATCH_TASK,
    autoretry_for=(OperationalError, InterfaceError),
    **settings.TASK_RETRY_POLICY,
)
def dispatch_events() -> int:
    """The outbox drain: after every action, and periodically for what a broker outage left
    and for failed events whose retry is due."""
    return events_dispatch()
