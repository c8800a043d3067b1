"""The outbox drain: committed audit events reach every consumer once, even across a broker
outage, and become notifications and e-mails."""

from datetime import timedelta

import pytest
from django.core import mail
from kombu.exceptions import OperationalError as BrokerDown

from approvals import outbox, workflow
from approvals.models import AuditEvent
from changemgmt.celery import app
from notifications.messages import text_of
from notifications.models import EventDispatch, Notification
from tests.helpers import approve, assessed, new_change, submitted

pytestmark = pytest.mark.django_db

NOTIFY = "notifications.consumers.notify"
calls: list[list[int]] = []


def broken_consumer(events):
    raise RuntimeError("the webhook service is misconfigured")


def recording_consumer(events):
    calls.append([e.pk for e in events])


def drain(capture):
    with capture(execute=True):
        return outbox.events_dispatch()


def inbox(username):
    return sorted(
        Notification.objects.filter(user__username=username).values_list("kind", flat=True)
    )


@pytest.fixture
def only_notify(settings):
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]


def test_each_party_hears_about_their_part_once(
    alice, ada, only_notify, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    change = submitted(alice)
    drain(capture)
    assert inbox("ada") == ["submitted"]
    change = workflow.change_assess(actor=ada, change_id=change.pk, impact="low", risk="low")
    drain(capture)
    assert inbox("hank") == ["step_opened"]
    approve("hank", change)
    drain(capture)
    assert inbox("mia") == ["step_opened"]
    assert inbox("alice") == ["decision"]
    approve("mia", change)
    drain(capture)
    assert inbox("alice") == ["decision", "outcome"]
    assert inbox("ivan") == ["approved"]

    sent = len(mail.outbox)
    assert sent == Notification.objects.count() == 6
    assert drain(capture) == 0
    assert len(mail.outbox) == sent
    assert {m.to[0] for m in mail.outbox} >= {"ada@example.com", "ivan@example.com"}
    assert change.key in mail.outbox[-1].subject


def test_an_emergency_change_tells_the_ecab_and_later_the_cab_of_the_retrospective(
    alice, only_notify, django_capture_on_commit_callbacks
):
    change = submitted(alice, change_type="emergency", impact="high")
    drain(django_capture_on_commit_callbacks)
    assert inbox("carl") == inbox("mia") == ["step_opened"]
    assert inbox("ada") == []  # an emergency change skips assessment
    approve("carl", change)
    ivan = change.implementer
    workflow.change_start(actor=ivan, change_id=change.pk)
    workflow.change_complete(actor=ivan, change_id=change.pk, outcome="success")
    drain(django_capture_on_commit_callbacks)
    assert inbox("carl") == ["retrospective_due", "step_opened"]
    assert inbox("ivan") == ["approved"]


def test_broker_down_the_approval_succeeds_and_the_drain_sends_once_it_is_back(
    alice, only_notify, monkeypatch, django_capture_on_commit_callbacks
):
    change = assessed(alice)
    drain(django_capture_on_commit_callbacks)
    before = len(mail.outbox)

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        change = approve("hank", change)
    assert change.state == "final_approval"
    assert callbacks  # the kick ran, failed, and was swallowed
    assert inbox("alice") == [] and len(mail.outbox) == before

    monkeypatch.undo()  # the broker is back; the periodic drain runs
    with django_capture_on_commit_callbacks(execute=True):
        outbox.dispatch_events.apply().get()
    with django_capture_on_commit_callbacks(execute=True):
        outbox.dispatch_events.apply().get()
    assert inbox("alice") == ["decision"]
    assert inbox("mia") == ["step_opened"]
    assert sorted(m.to[0] for m in mail.outbox[before:]) == ["alice@example.com", "mia@example.com"]


def test_a_failing_consumer_keeps_its_events_and_does_not_hold_up_the_others(
    alice, settings, django_capture_on_commit_callbacks
):
    broken = "tests.tasks.test_outbox.broken_consumer"
    settings.AUDIT_EVENT_CONSUMERS = [broken, NOTIFY]
    submitted(alice)
    drain(django_capture_on_commit_callbacks)
    assert inbox("ada") == ["submitted"]
    failed = EventDispatch.objects.filter(consumer=broken)
    assert {(row.status, row.attempts) for row in failed} == {("retrying", 1)}
    assert all("misconfigured" in row.last_error for row in failed)

    settings.AUDIT_EVENT_CONSUMERS = ["tests.tasks.test_outbox.recording_consumer", NOTIFY]
    calls.clear()
    drain(django_capture_on_commit_callbacks)
    assert len(calls) == 1 and len(calls[0]) == AuditEvent.objects.count()
    assert inbox("ada") == ["submitted"]


def test_the_drain_works_in_batches_and_in_order(
    alice, settings, django_capture_on_commit_callbacks
):
    settings.AUDIT_EVENT_CONSUMERS = ["tests.tasks.test_outbox.recording_consumer"]
    for _ in range(5):
        new_change(alice)
    calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        outbox.events_dispatch(batch_size=2)
    flat = [seq for batch in calls for seq in batch]
    assert [len(batch) for batch in calls] == [2, 2, 1]  # five changes created, one event each
    assert flat == sorted(flat) and len(flat) == len(set(flat)) == AuditEvent.objects.count()


def test_an_event_of_any_age_is_still_handed_over(alice, settings, time_machine):
    settings.AUDIT_EVENT_CONSUMERS = ["tests.tasks.test_outbox.recording_consumer"]
    calls.clear()
    old = new_change(alice)
    time_machine.move_to(old.created_at + timedelta(days=30), tick=False)
    fresh = new_change(alice)
    outbox.events_dispatch()
    assert [AuditEvent.objects.get(pk=seq).change_id for seq in calls[0]] == [old.pk, fresh.pk]


def test_an_email_that_failed_is_sent_by_the_sweep(
    alice, only_notify, settings, time_machine, django_capture_on_commit_callbacks
):
    from notifications import emails

    settings.EMAIL_BACKEND = "tests.tasks.mailbackends.DownBackend"
    submitted(alice)
    drain(django_capture_on_commit_callbacks)
    (note,) = Notification.objects.filter(user__username="ada")
    assert note.emailed_at is None and note.email_attempts == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert emails.send_pending() == 0  # not due again yet
    time_machine.move_to(note.email_retry_at + timedelta(seconds=1), tick=False)
    assert emails.send_pending() == 1
    assert emails.send_pending() == 0
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_notifying_a_batch_costs_the_same_few_queries_however_large(
    alice, bob, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from notifications.consumers import notify

    for requester in (alice, bob, alice):
        assessed(requester)
    events = list(AuditEvent.objects.order_by("seq"))
    assert len(events) == 9
    # changes, opened steps, their seats, assessors, one insert
    with django_assert_num_queries(5), django_capture_on_commit_callbacks():
        notify(events)
    assert Notification.objects.count() == 3 * 2  # ada per submission, hank per opened step


def test_the_requester_hears_in_plain_words_that_information_was_requested(
    alice, hank, only_notify, django_capture_on_commit_callbacks
):
    change = assessed(alice)
    workflow.step_decide(
        actor=hank, change_id=change.pk, decision="request_info", comment="Which cluster?"
    )
    drain(django_capture_on_commit_callbacks)
    (note,) = Notification.objects.filter(user=alice)
    assert note.kind == "decision"
    assert "“request information”" in text_of(note, language="en")
    (email,) = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert f"/changes/{change.pk}/" in email.body
