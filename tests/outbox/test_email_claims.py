"""E-mails are sent at least once: a claim left by a worker that died is taken over after a
while, and every copy carries the same Message-ID so the repeat can be dropped."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications import emails
from notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db


def note_for(user) -> Notification:
    return Notification.objects.create(
        user=user,
        kind=NotificationKind.REMINDER,
        params={"key": "CHG-000001", "step": "Department head", "percent": 50},
    )


def test_an_email_claimed_by_a_worker_that_died_is_sent_after_the_timeout(ada, time_machine):
    note = note_for(ada)
    # A worker claimed it, then died before sending.
    Notification.objects.filter(pk=note.pk).update(email_claimed_at=timezone.now())
    assert emails.send_pending() == 0  # still in that worker's hands as far as we know
    assert mail.outbox == []

    time_machine.move_to(timezone.now() + emails.STALE_CLAIM + timedelta(seconds=1), tick=False)
    assert emails.send_pending() == 1
    assert emails.send_pending() == 0
    (message,) = mail.outbox
    assert message.to == ["ada@example.com"]
    note.refresh_from_db()
    assert note.emailed_at is not None


def test_every_copy_of_one_notification_carries_the_same_message_id(ada, time_machine):
    note = note_for(ada)
    assert emails.send_pending() == 1
    # the worker died after sending but before recording it: the e-mail goes out again
    Notification.objects.filter(pk=note.pk).update(
        emailed_at=None, email_claimed_at=timezone.now() - emails.STALE_CLAIM * 2
    )
    assert emails.send_pending() == 1
    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert f".{ada.pk}.reminder@" in first.extra_headers["Message-ID"]


def test_an_email_sent_is_never_sent_again_by_the_sweep(ada):
    note_for(ada)
    assert emails.send_pending() == 1
    assert emails.send_pending() == 0
    assert len(mail.outbox) == 1


def test_an_old_unsent_email_is_still_sent(ada, time_machine):
    note = note_for(ada)
    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(days=10))
    assert emails.send_pending() == 1
