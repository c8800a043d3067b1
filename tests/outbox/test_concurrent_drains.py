"""On PostgreSQL: drains running at once around a poisoned event hand every other event over
exactly once, and record the poisoned one's failure once."""

import pytest

from approvals import outbox
from approvals.models import AuditEvent
from notifications.models import EventDispatch
from tests.helpers import new_change
from tests.tasks.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

received: list[int] = []
poisoned: set[int] = set()


def picky_consumer(events):
    for event in events:
        if event.pk in poisoned:
            raise ValueError("cannot digest it")
    received.extend(event.pk for event in events)


def test_concurrent_drains_hand_each_good_event_over_once_around_a_poisoned_one(alice, settings):
    settings.AUDIT_EVENT_CONSUMERS = ["tests.outbox.test_concurrent_drains.picky_consumer"]
    for _ in range(9):
        new_change(alice)
    EventDispatch.objects.all().delete()
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    poisoned.add(seqs[4])
    received.clear()

    run_at_once(lambda: outbox.events_dispatch(batch_size=3))

    assert sorted(received) == [s for s in seqs if s not in poisoned]
    rows = EventDispatch.objects.filter(event_id=seqs[4])
    assert [(r.status, r.attempts) for r in rows] == [("retrying", 1)]
    assert EventDispatch.objects.filter(status="delivered").count() == len(seqs) - 1
