"""An event that fails in a consumer never holds up the others; after OUTBOX_MAX_ATTEMPTS it waits
on the dead-letter list, where a change manager sends it again or dismisses it (audited)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import outbox
from approvals.models import AuditEvent
from notifications.models import EventDispatch
from tests.helpers import new_change

pytestmark = pytest.mark.django_db

PICKY = "tests.outbox.test_dead_letters.picky_consumer"
received: list[int] = []
poisoned: set[int] = set()


def picky_consumer(events):
    for event in events:
        if event.pk in poisoned:
            raise ValueError(f"cannot digest event {event.pk}")
    received.extend(event.pk for event in events)


@pytest.fixture(autouse=True)
def only_picky(settings):
    settings.AUDIT_EVENT_CONSUMERS = [PICKY]
    settings.OUTBOX_MAX_ATTEMPTS = 3
    received.clear()
    poisoned.clear()


def three_events(requester) -> list[int]:
    for _ in range(3):
        new_change(requester)
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))


def drain_later(time_machine, minutes: float) -> int:
    time_machine.move_to(timezone.now() + timedelta(minutes=minutes), tick=False)
    return outbox.events_dispatch()


def dead_letter(alice, time_machine) -> EventDispatch:
    first, bad, last = three_events(alice)
    poisoned.add(bad)
    outbox.events_dispatch()
    for minutes in (1.1, 2.1):
        drain_later(time_machine, minutes)
    return EventDispatch.objects.get(event_id=bad)


def counts() -> tuple[list[tuple[str, int]], int]:
    rows = list(EventDispatch.objects.order_by("pk").values_list("status", "attempts"))
    return rows, AuditEvent.objects.count()


def test_a_poisoned_event_does_not_block_the_events_after_it(alice):
    first, bad, last = three_events(alice)
    poisoned.add(bad)
    assert outbox.events_dispatch() == 2
    assert received == [first, last]
    row = EventDispatch.objects.get(event_id=bad)
    assert (row.status, row.attempts) == ("retrying", 1)
    assert row.last_error == f"ValueError: cannot digest event {bad}"
    assert row.next_attempt_at > timezone.now()

    # later events keep flowing while the poisoned one waits for its retry
    later = new_change(alice)
    outbox.events_dispatch()
    assert received[-1] == AuditEvent.objects.get(change=later).pk


def test_a_failed_event_is_retried_with_backoff_and_delivered_once_it_can_be(alice, time_machine):
    first, bad, last = three_events(alice)
    poisoned.add(bad)
    outbox.events_dispatch()
    assert drain_later(time_machine, 0.5) == 0  # not due yet: nothing tried
    assert EventDispatch.objects.get(event_id=bad).attempts == 1
    poisoned.clear()
    assert drain_later(time_machine, 0.6) == 1
    row = EventDispatch.objects.get(event_id=bad)
    assert (row.status, row.attempts) == ("delivered", 2)
    assert received == [first, last, bad]


def test_after_the_last_attempt_the_event_is_a_dead_letter_and_left_alone(alice, time_machine):
    row = dead_letter(alice, time_machine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("dead", 3, None)
    before = len(received)
    drain_later(time_machine, 600)
    assert len(received) == before
    assert EventDispatch.objects.get(pk=row.pk).attempts == 3


def test_a_change_manager_sends_a_dead_letter_again_and_it_is_audited(
    alice, mia, client, time_machine, django_capture_on_commit_callbacks
):
    row = dead_letter(alice, time_machine)
    client.force_login(mia)
    page = client.get("/outbox/dead-letters/")
    assert page.status_code == 200 and f"dead-letter-{row.pk}" in page.content.decode()
    poisoned.clear()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/outbox/dead-letters/{row.pk}/retry/")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="dead_letter_retried")
    assert event.actor == mia and event.data["event"] == row.event_id
    assert event.data["consumer"] == PICKY and event.data["attempts"] == 3

    outbox.events_dispatch()
    row.refresh_from_db()
    assert row.status == "delivered" and row.event_id in received


def test_a_dead_letter_that_fails_again_comes_back_to_the_list(
    alice, mia, time_machine, django_capture_on_commit_callbacks
):
    from notifications.dead_letters import dead_letter_retry

    row = dead_letter(alice, time_machine)
    with django_capture_on_commit_callbacks():
        dead_letter_retry(actor=mia, dead_letter_id=row.pk)
    outbox.events_dispatch()
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("dead", 4)


def test_a_change_manager_dismisses_a_dead_letter_and_it_is_audited(
    alice, mia, client, time_machine, django_capture_on_commit_callbacks
):
    row = dead_letter(alice, time_machine)
    client.force_login(mia)
    with django_capture_on_commit_callbacks():
        assert client.post(f"/outbox/dead-letters/{row.pk}/dismiss/").status_code == 302
    row.refresh_from_db()
    assert row.status == "dismissed"
    event = AuditEvent.objects.get(action="dead_letter_dismissed")
    assert event.actor == mia and event.data["event"] == row.event_id
    assert f"dead-letter-{row.pk}" not in client.get("/outbox/dead-letters/").content.decode()
    poisoned.clear()
    drain_later(time_machine, 600)
    assert row.event_id not in received


def test_people_other_than_change_managers_are_refused_and_nothing_changes(
    alice, hank, audrey, client, time_machine
):
    row = dead_letter(alice, time_machine)
    before = counts()
    for person in (alice, hank, audrey):
        client.force_login(person)
        assert client.get("/outbox/dead-letters/").status_code == 403
        assert client.post(f"/outbox/dead-letters/{row.pk}/retry/").status_code == 403
        assert client.post(f"/outbox/dead-letters/{row.pk}/dismiss/").status_code == 403
    assert counts() == before


def test_only_dead_letters_can_be_retried_or_dismissed_and_a_refusal_changes_nothing(
    alice, mia, client, time_machine
):
    row = dead_letter(alice, time_machine)
    delivered = EventDispatch.objects.filter(status="delivered").first()
    client.force_login(mia)
    before = counts()
    assert client.post(f"/outbox/dead-letters/{delivered.pk}/retry/").status_code == 409
    assert client.post(f"/outbox/dead-letters/{delivered.pk}/dismiss/").status_code == 409
    assert client.post("/outbox/dead-letters/999999/retry/").status_code == 404
    assert client.get(f"/outbox/dead-letters/{row.pk}/retry/").status_code == 405
    assert counts() == before


def test_the_admin_retries_dead_letters_through_the_audited_service(
    alice, mia, client, time_machine, django_capture_on_commit_callbacks
):
    row = dead_letter(alice, time_machine)
    mia.is_staff = mia.is_superuser = True
    mia.save()
    client.force_login(mia)
    assert client.get("/admin/notifications/eventdispatch/?status=dead").status_code == 200
    with django_capture_on_commit_callbacks():
        client.post(
            "/admin/notifications/eventdispatch/",
            {"action": "retry", "_selected_action": [row.pk]},
        )
    row.refresh_from_db()
    assert row.status == "retrying"
    assert AuditEvent.objects.filter(action="dead_letter_retried", actor=mia).count() == 1


def test_the_age_of_the_oldest_undelivered_event_is_measured(alice, mia, time_machine):
    assert outbox.oldest_undelivered_age() is None
    first, bad, last = three_events(alice)
    occurred = AuditEvent.objects.get(pk=first).occurred_at
    time_machine.move_to(occurred + timedelta(minutes=5), tick=False)
    assert outbox.oldest_undelivered_age() == timedelta(minutes=5)  # none handed over yet
    poisoned.add(bad)
    outbox.events_dispatch()
    bad_at = AuditEvent.objects.get(pk=bad).occurred_at
    assert outbox.oldest_undelivered_age() == timezone.now() - bad_at  # the retrying one
    row = EventDispatch.objects.get(event_id=bad)
    from notifications.dead_letters import dead_letter_dismiss

    EventDispatch.objects.filter(pk=row.pk).update(status="dead")
    dead_letter_dismiss(actor=mia, dead_letter_id=row.pk)
    outbox.events_dispatch()  # the dismissal's own audit event
    assert outbox.oldest_undelivered_age() is None


def test_the_drain_floor_passes_settled_events_and_never_skips_one(alice, time_machine):
    old = three_events(alice)
    outbox.events_dispatch()
    time_machine.move_to(timezone.now() + timedelta(hours=2), tick=False)
    outbox.events_dispatch()
    from notifications.models import EventDispatchFloor

    assert EventDispatchFloor.objects.get(consumer=PICKY).below_seq == old[-1] + 1
    fresh = new_change(alice)
    outbox.events_dispatch()
    assert received[-1] == AuditEvent.objects.get(change=fresh).pk
