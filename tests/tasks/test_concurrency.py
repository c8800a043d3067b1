"""Two scans at once on PostgreSQL: each reminder and escalation still happens once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from approvals import audit
from approvals.models import ApprovalStep, AuditEvent, ChangeRequest, StepApprover
from notifications import sla
from notifications.models import SlaAction
from tests.helpers import assessed
from tests.tasks.conftest import open_step

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def overdue(change, hours=25):
    step = open_step(change)
    opened = step.opened_at - timedelta(hours=hours)
    ApprovalStep.objects.filter(pk=step.pk).update(
        opened_at=opened, due_at=opened + timedelta(hours=step.sla_hours)
    )
    return step


def run_at_once(target, threads=4):
    barrier = threading.Barrier(threads)
    errors = []

    def work():
        try:
            barrier.wait()
            target()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert errors == []


def test_concurrent_scans_send_each_reminder_and_escalation_once(alice, bob):
    changes = [assessed(alice), assessed(bob), assessed(alice, impact="medium")]
    steps = [overdue(change) for change in changes]

    run_at_once(sla.sla_scan)
    run_at_once(sla.sla_scan)

    for change, step in zip(changes, steps, strict=True):
        actions = AuditEvent.objects.filter(
            change=change, action__in=["reminder_sent", "escalated"]
        )
        assert sorted(actions.values_list("action", flat=True)) == ["escalated", "reminder_sent"]
        assert SlaAction.objects.filter(step=step).count() == 3  # the 50 % one superseded
        assert StepApprover.objects.filter(step=step, source="escalation").count() == 1
    assert audit.verify_chain().ok


def test_concurrent_scans_share_a_backlog_batch_by_batch(alice, bob, monkeypatch):
    monkeypatch.setattr(sla, "BATCH_CHANGES", 1)
    changes = [assessed(requester) for requester in (alice, bob) * 4]
    steps = [overdue(change) for change in changes]

    run_at_once(sla.sla_scan)

    for change, step in zip(changes, steps, strict=True):
        actions = AuditEvent.objects.filter(
            change=change, action__in=["reminder_sent", "escalated"]
        )
        assert sorted(actions.values_list("action", flat=True)) == ["escalated", "reminder_sent"]
        assert SlaAction.objects.filter(step=step).count() == 3
    assert audit.verify_chain().ok


def test_a_scan_passes_over_a_change_being_decided_and_the_next_scan_takes_it(alice, bob):
    busy, free = assessed(alice), assessed(bob)
    overdue(busy)
    overdue(free)
    locked, release = threading.Event(), threading.Event()

    def decide_slowly():
        try:
            with transaction.atomic():
                ChangeRequest.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=decide_slowly)
    holder.start()
    assert locked.wait(timeout=10)
    with connection.cursor() as cursor:
        # A scan that waited for the lock would fail here instead of hanging the test.
        cursor.execute("SET lock_timeout = '5s'")
    try:
        sent = sla.sla_scan()
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert sent == 2
    assert not AuditEvent.objects.filter(change=busy, action__in=["reminder_sent", "escalated"])
    assert not SlaAction.objects.filter(step__change=busy).exists()
    assert sla.sla_scan() == 2
    assert AuditEvent.objects.filter(change=busy, action="escalated").count() == 1
    assert audit.verify_chain().ok


def test_the_same_reminder_requested_by_many_at_once_is_sent_once(alice):
    step = overdue(assessed(alice), hours=13)
    results = []
    run_at_once(lambda: results.append(sla.step_sla_act(step_id=step.pk, level="reminder_50")))
    assert sum(event is not None for event in results) == 1
    assert AuditEvent.objects.filter(action="reminder_sent").count() == 1


def test_concurrent_drains_hand_each_event_over_once_and_mail_once(alice, bob, settings):
    from django.core import mail

    from approvals import outbox
    from notifications.models import EventDispatch, Notification

    settings.AUDIT_EVENT_CONSUMERS = ["notifications.consumers.notify"]
    for requester in (alice, bob, alice, bob):
        assessed(requester)
    EventDispatch.objects.all().delete()  # the kicks after each commit may have drained already
    Notification.objects.all().delete()
    mail.outbox.clear()
    events = AuditEvent.objects.count()

    run_at_once(lambda: outbox.events_dispatch(batch_size=3))

    assert EventDispatch.objects.count() == events
    notes = Notification.objects.count()
    assert notes == 4 * 2  # ada per submission, hank per opened step
    assert len(mail.outbox) == notes


def test_concurrent_snapshots_never_seal_overlapping_ranges(alice):
    from approvals.models import AuditSnapshot
    from approvals.snapshots import audit_snapshot_take

    for _ in range(3):
        assessed(alice)
    run_at_once(lambda: audit_snapshot_take(margin=timedelta(0)))
    (snapshot,) = AuditSnapshot.objects.all()
    assert snapshot.event_count == AuditEvent.objects.filter(seq__lte=snapshot.last_seq).count()
    assert audit.verify_chain().ok
