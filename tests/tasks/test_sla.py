"""Reminders at 50 % and 100 % of a step's SLA, then escalation, each exactly once."""

from datetime import timedelta

import pytest

from approvals import audit, outbox, workflow
from approvals.choices import StepStatus
from approvals.models import AuditEvent, Decision
from notifications import sla
from notifications.models import Notification, SlaAction, SlaLevel
from tests.helpers import approve, assessed, route, submitted
from tests.tasks.conftest import T0, open_step

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def sla_events(change, action=None):
    events = AuditEvent.objects.filter(change=change, action__in=["reminder_sent", "escalated"])
    if action:
        events = events.filter(action=action)
    return list(events.order_by("seq"))


def test_approvers_are_reminded_exactly_at_half_and_at_full_sla(alice, at):
    at(T0)
    change = assessed(alice)  # department head step: hank, 24 h
    step = open_step(change)
    assert step.due_at == T0 + 24 * HOUR

    at(T0 + 12 * HOUR - SECOND)
    assert sla.sla_scan() == 0
    at(T0 + 12 * HOUR)
    assert sla.sla_scan() == 1
    assert sla.sla_scan() == 0

    at(T0 + 24 * HOUR - SECOND)
    assert sla.sla_scan() == 0
    at(T0 + 24 * HOUR)
    assert sla.sla_scan() == 1  # the 100 % reminder; escalation waits until it is overdue

    reminders = sla_events(change, "reminder_sent")
    assert [(e.data["percent"], e.data["recipients"]) for e in reminders] == [
        (50, ["hank"]),
        (100, ["hank"]),
    ]
    assert all(e.actor is None and e.to_state == change.state for e in reminders)
    assert audit.verify_chain().ok


def test_an_overdue_step_is_escalated_once_and_the_target_can_decide_it(alice, mia, at):
    at(T0)
    change = assessed(alice)
    step = open_step(change)

    at(T0 + 24 * HOUR + SECOND)
    assert sla.sla_scan() == 2  # the 100 % reminder and the escalation (50 % superseded)
    assert sla.sla_scan() == 0
    assert sla.step_sla_act(step_id=step.pk, level=SlaLevel.ESCALATION) is None

    step.refresh_from_db()
    assert step.escalated_at == T0 + 24 * HOUR + SECOND
    assert dict(step.seats.values_list("user__username", "source")) == {
        "hank": "route",
        "mia": "escalation",
    }
    (escalation,) = sla_events(change, "escalated")
    assert escalation.data["escalated_to"] == escalation.data["seats_added"] == ["mia"]
    assert escalation.data["escalation_group"] == "change_manager"
    assert SlaAction.objects.filter(step=step).count() == 3

    at(T0 + 25 * HOUR)
    change = approve("mia", change)
    step.refresh_from_db()
    assert step.status == StepStatus.APPROVED
    assert Decision.objects.get(step=step).escalated is True
    assert route(change)[1][1] == "pending"  # the final approval opened


def test_a_half_time_reminder_missed_while_workers_were_down_is_not_sent_late(alice, at):
    at(T0)
    change = assessed(alice)
    at(T0 + 30 * HOUR)
    sla.sla_scan()
    assert [e.data["percent"] for e in sla_events(change, "reminder_sent")] == [100]
    assert SlaAction.objects.get(level=SlaLevel.HALF, step=open_step(change)).event is None


def test_steps_already_decided_or_closed_get_no_reminders(alice, bob, at):
    at(T0)
    decided = assessed(alice)
    withdrawn = assessed(bob)
    at(T0 + HOUR)
    decided = approve("hank", decided)  # opens the final step (48 h) at T0 + 1 h
    workflow.change_withdraw(actor=bob, change_id=withdrawn.pk, comment="not needed")

    at(T0 + 20 * HOUR)
    assert sla.sla_scan() == 0
    at(T0 + 25 * HOUR)
    assert sla.sla_scan() == 1  # only the final step's half-time reminder
    (reminder,) = sla_events(decided)
    assert reminder.data["step_name"] == open_step(decided).name
    assert reminder.data["recipients"] == ["mia"]
    assert sla_events(withdrawn) == []


def test_a_step_decided_after_the_scan_found_it_is_not_reminded(alice, at):
    at(T0)
    change = assessed(alice)
    step = open_step(change)
    at(T0 + 13 * HOUR)
    due = sla.due_actions(now=T0 + 13 * HOUR)
    approve("hank", change)
    assert [a.step_id for a in due] == [step.pk]
    assert sla.step_sla_act(step_id=step.pk, level=due[0].level) is None
    assert not SlaAction.objects.filter(step=step).exists()


def test_only_approvers_who_have_not_decided_are_reminded(alice, fiona, at):
    at(T0)
    # cross-department: the joint step needs the heads of FIN and OPS (quorum all)
    change = assessed(alice, departments=["FIN", "OPS"])
    change = approve("hank", change)
    joint = open_step(change)
    assert joint.quorum == "all"
    approve("fiona", change)
    at(T0 + 24 * HOUR)
    sla.sla_scan()
    (reminder,) = sla_events(change)
    assert reminder.data["recipients"] == ["olga"]


def test_due_steps_are_found_in_one_query_however_many_changes(
    alice, bob, at, django_assert_num_queries
):
    at(T0)
    for requester in (alice, bob, alice):
        assessed(requester)
    with django_assert_num_queries(1):
        due = sla.due_actions(now=T0 + 25 * HOUR)
    assert len(due) == 9


def test_escalation_never_seats_the_requester_and_falls_back_to_the_cab(mia, at):
    at(T0)
    change = assessed(mia)  # her step escalates to the change managers: only mia, the requester
    step = open_step(change)
    at(T0 + 25 * HOUR)
    sla.sla_scan()
    assert dict(step.seats.values_list("user__username", "source")) == {
        "hank": "route",
        "carl": "escalation",
    }
    (escalation,) = sla_events(change, "escalated")
    assert escalation.data["escalated_to"] == ["carl"]


def test_an_overdue_emergency_change_is_escalated_to_the_cab_already_on_its_ecab_step(alice, at):
    at(T0)
    change = submitted(alice, change_type="emergency", impact="high")  # ECAB: 1 h
    step = open_step(change)
    at(T0 + 30 * MINUTE)
    assert sla.sla_scan() == 1
    at(T0 + HOUR + SECOND)
    assert sla.sla_scan() == 2
    (escalation,) = sla_events(change, "escalated")
    assert escalation.data["escalated_to"] == ["carl"]  # told, though already seated
    assert escalation.data["seats_added"] == []
    assert dict(step.seats.values_list("user__username", "source")) == {
        "carl": "route",
        "mia": "route",
    }


def test_the_final_approval_of_a_rescheduled_window_is_reminded_afresh(alice, at):
    at(T0)
    change = approve("hank", assessed(alice))  # final: the change manager, 48 h
    final = open_step(change)
    at(T0 + 24 * HOUR)
    assert sla.sla_scan() == 1  # the 50 % reminder of the first opening
    change = approve("mia", change)
    at(T0 + 25 * HOUR)
    workflow.change_reschedule(
        actor=alice,
        change_id=change.pk,
        planned_start=T0 + 5 * 24 * HOUR,
        planned_end=T0 + 5 * 24 * HOUR + 2 * HOUR,
        reason="the vendor moved the date",
    )
    again = open_step(change)
    assert again.kind == final.kind and again.pk != final.pk
    at(T0 + 49 * HOUR)
    assert sla.sla_scan() == 1  # 50 % of the new final approval
    assert sla.sla_scan() == 0
    reminders = sla_events(change, "reminder_sent")
    assert [e.data["percent"] for e in reminders] == [50, 50]
    assert SlaAction.objects.filter(step=again, level=SlaLevel.HALF).count() == 1


def test_a_scan_costs_the_same_queries_for_one_due_step_as_for_many(
    alice, bob, at, django_assert_num_queries
):
    at(T0)
    assessed(alice)
    at(T0 + 25 * HOUR)  # the 100 % reminder and the escalation, the 50 % one superseded
    # Listing what is due, then one batch: lock, read the steps, recipients, escalation (round
    # decisions, targets, seats, new seats, steps), events, ledger, chain heads; then listing
    # again finds nothing left.
    with django_assert_num_queries(15):
        assert sla.sla_scan() == 2

    at(T0 + 30 * HOUR)
    later = [assessed(requester) for requester in (alice, bob, alice, bob, alice)]
    at(T0 + 55 * HOUR)
    with django_assert_num_queries(15):
        assert sla.sla_scan() == 10
    for change in later:
        assert [e.action for e in sla_events(change)] == ["reminder_sent", "escalated"]
    assert audit.verify_chain().ok


def test_a_scan_works_through_a_backlog_larger_than_a_batch(alice, bob, at, monkeypatch):
    monkeypatch.setattr(sla, "BATCH_CHANGES", 2)
    at(T0)
    changes = [assessed(requester) for requester in (alice, bob, alice, bob, alice)]
    at(T0 + 13 * HOUR)
    assert sla.sla_scan() == 5
    assert all(len(sla_events(change, "reminder_sent")) == 1 for change in changes)


def test_a_scan_out_of_time_leaves_the_rest_to_the_next_scan(alice, bob, at, monkeypatch):
    monkeypatch.setattr(sla, "BATCH_CHANGES", 2)
    at(T0)
    changes = [assessed(requester) for requester in (alice, bob, alice)]
    at(T0 + 13 * HOUR)
    assert sla.sla_scan(seconds=0) == 2  # one batch, then its time is up
    assert [len(sla_events(change)) for change in changes] == [1, 1, 0]
    assert sla.sla_scan() == 1
    assert [len(sla_events(change)) for change in changes] == [1, 1, 1]


def test_a_failure_on_one_change_does_not_stop_the_others(alice, bob, at, monkeypatch):
    at(T0)
    good, bad, other = assessed(alice), assessed(bob), assessed(alice)
    at(T0 + 13 * HOUR)
    real = audit.step_reminded

    def failing(*, change, data):
        if change.pk == bad.pk:
            raise ValueError("a corrupt step")
        return real(change=change, data=data)

    monkeypatch.setattr(audit, "step_reminded", failing)
    assert sla.sla_scan() == 2
    assert len(sla_events(good)) == len(sla_events(other)) == 1
    assert sla_events(bad) == []
    assert not SlaAction.objects.filter(step__change=bad).exists()

    monkeypatch.setattr(audit, "step_reminded", real)  # mended: the next scan reminds it
    assert sla.sla_scan() == 1
    assert [e.data["recipients"] for e in sla_events(bad)] == [["fiona"]]  # head of FIN
    assert audit.verify_chain().ok


def test_a_step_decided_after_the_scan_listed_it_is_not_reminded(alice, bob, at, monkeypatch):
    at(T0)
    decided, waiting = assessed(alice), assessed(bob)
    at(T0 + 13 * HOUR)
    listed = sla.due_actions(now=T0 + 13 * HOUR)
    assert {a.change_id for a in listed} == {decided.pk, waiting.pk}
    approve("hank", decided)
    monkeypatch.setattr(sla, "due_actions", lambda now: listed)
    events = AuditEvent.objects.filter(change=decided).count()

    assert sla.sla_scan() == 1
    assert sla_events(decided) == []
    assert AuditEvent.objects.filter(change=decided).count() == events
    assert not SlaAction.objects.filter(step__change=decided).exists()
    assert len(sla_events(waiting)) == 1


def test_a_ledger_row_of_an_earlier_opening_gives_way_to_this_opening(alice, at):
    at(T0)
    change = assessed(alice)
    step = open_step(change)
    # Left by an earlier opening of the same step (it was decided, then opened again).
    SlaAction.objects.create(step=step, level=SlaLevel.HALF, created_at=T0 - HOUR)
    at(T0 + 12 * HOUR)
    assert sla.sla_scan() == 1
    (reminder,) = sla_events(change)
    row = SlaAction.objects.get(step=step)
    assert (row.level, row.created_at, row.event) == (SlaLevel.HALF, T0 + 12 * HOUR, reminder)
    assert sla.sla_scan() == 0


def test_reminders_and_escalations_reach_their_recipients_through_the_outbox(
    alice, at, settings, django_capture_on_commit_callbacks
):
    settings.AUDIT_EVENT_CONSUMERS = ["notifications.consumers.notify"]
    at(T0)
    change = assessed(alice)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.events_dispatch()
    at(T0 + 25 * HOUR)
    with django_capture_on_commit_callbacks() as kicks:
        assert sla.sla_scan() == 2
    assert len(kicks) == 1  # one nudge of the drain for the batch, not one per event

    with django_capture_on_commit_callbacks(execute=True):
        outbox.events_dispatch()
    reminder, escalation = sla_events(change)
    notes = Notification.objects.filter(kind__in=["reminder", "escalation"])
    assert sorted(notes.values_list("user__username", "kind")) == [
        ("hank", "reminder"),
        ("mia", "escalation"),
    ]
    assert reminder.data["recipient_ids"] == [notes.get(kind="reminder").user_id]
    assert escalation.data["escalated_to_ids"] == [notes.get(kind="escalation").user_id]
