"""A worker whose clock jumped neither reminds early nor takes over a live worker's claim: due
times and stale claims are decided by the database server's clock (approvals.clock)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db.models.functions import Now
from django.utils import timezone

from approvals.clock import database_now
from approvals.models import AuditEvent
from notifications import emails, sla
from notifications.models import Notification, NotificationKind
from tests.helpers import assessed
from tests.tasks.conftest import open_step

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
def database_clock(settings):
    settings.CLOCK_FROM_DATABASE = True


def test_the_database_clock_does_not_follow_the_process_clock(database_clock, time_machine):
    before = database_now()
    time_machine.move_to(timezone.now() + timedelta(hours=5), tick=False)
    assert abs(database_now() - before) < timedelta(minutes=1)


def test_a_worker_an_hour_ahead_sends_no_reminder_that_is_not_due(
    database_clock, alice, settings, time_machine
):
    change = assessed(alice)  # department head step: hank, 24 h
    step = open_step(change)
    assert step.due_at - database_now() > timedelta(hours=23)
    time_machine.move_to(timezone.now() + timedelta(hours=25), tick=False)

    assert sla.sla_scan() == 0
    assert not AuditEvent.objects.filter(change=change, action="reminder_sent").exists()

    # The same scan by the process's clock would have reminded (the test can fail).
    settings.CLOCK_FROM_DATABASE = False
    assert sla.sla_scan() >= 1
    assert AuditEvent.objects.filter(change=change, action="reminder_sent").exists()


def test_a_worker_an_hour_ahead_leaves_a_live_claim_alone(database_clock, ada, time_machine):
    note = Notification.objects.create(
        user=ada,
        kind=NotificationKind.REMINDER,
        params={"key": "CHG-000001", "step": "Department head", "percent": 50},
    )
    # Another worker claimed it a moment ago, by the database's clock, and is sending it.
    Notification.objects.filter(pk=note.pk).update(email_claimed_at=Now())
    time_machine.move_to(timezone.now() + timedelta(hours=1), tick=False)

    assert emails.send_pending() == 0
    assert mail.outbox == []
    note.refresh_from_db()
    assert note.emailed_at is None

    # A claim eleven minutes old by the database's clock was left by a dead worker: taken over.
    Notification.objects.filter(pk=note.pk).update(email_claimed_at=Now() - timedelta(minutes=11))
    assert emails.send_pending() == 1
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]


def test_a_reminder_sent_by_a_worker_an_hour_ahead_is_dated_by_the_database(
    database_clock, alice, time_machine
):
    change = assessed(alice)
    step = open_step(change)
    # Overdue by the database's clock: opened two days ago, due a day ago.
    type(step).objects.filter(pk=step.pk).update(
        opened_at=Now() - timedelta(days=2), due_at=Now() - timedelta(days=1)
    )
    time_machine.move_to(timezone.now() + timedelta(hours=1), tick=False)

    assert sla.sla_scan() >= 1
    (reminder,) = AuditEvent.objects.filter(change=change, action="reminder_sent")
    assert abs(reminder.occurred_at - database_now()) < timedelta(minutes=1)
