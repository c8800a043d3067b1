"""A step that re-opens, or a seat that moves to someone new, is announced like a step that opens:
in the application, by e-mail with decision links, and in chat."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals import workflow
from approvals.models import Department
from approvals_channels.models import ChatDelivery, ChatTarget
from notifications.models import Notification
from tests.channels.support import CHAT, NOTIFY, drain, open_step
from tests.helpers import approve, assessed, refresh, user

pytestmark = pytest.mark.django_db


def _opened_for(who, change):
    return Notification.objects.filter(user=who, change_id=change.pk, kind="step_opened").count()


def test_the_final_approver_is_told_again_when_a_reschedule_reopens_their_step(
    demo, settings, django_capture_on_commit_callbacks
):
    alice, mia = user("alice"), user("mia")
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]
    change = assessed(alice)
    approve("hank", change)
    drain(django_capture_on_commit_callbacks)
    assert _opened_for(mia, change) == 1
    approve("mia", change)
    drain(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    start = timezone.now() + timedelta(days=20)

    workflow.change_reschedule(
        actor=alice,
        change_id=change.pk,
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        reason="move",
    )
    drain(django_capture_on_commit_callbacks)

    assert refresh(change).state == "final_approval"
    assert _opened_for(mia, change) == 2
    [message] = [m for m in mail.outbox if mia.email in m.to]
    assert "/links/" in message.body


def test_a_reopened_step_is_announced_in_chat(
    demo, settings, receiver, django_capture_on_commit_callbacks
):
    alice = user("alice")
    settings.AUDIT_EVENT_CONSUMERS = [CHAT]
    settings.SITE_URL = "http://testserver"
    change = assessed(alice)
    approve("hank", change)
    approve("mia", change)
    drain(django_capture_on_commit_callbacks)
    ChatTarget.objects.create(
        name="IT group",
        platform="slack",
        url=receiver.url + "/services/T/B/it",
        department=Department.objects.get(code="IT"),
    )
    start = timezone.now() + timedelta(days=20)

    workflow.change_reschedule(
        actor=alice,
        change_id=change.pk,
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        reason="move",
    )
    drain(django_capture_on_commit_callbacks)

    [delivery] = ChatDelivery.objects.all()
    assert delivery.step_id == open_step(change).pk and delivery.status == "delivered"
    [request] = receiver.requests
    body = json.loads(request["body"])
    assert change.key in body["text"]


def test_only_the_new_seat_holder_is_told_when_a_seat_moves(
    demo, settings, django_capture_on_commit_callbacks
):
    alice, mia, hank, fiona = user("alice"), user("mia"), user("hank"), user("fiona")
    settings.AUDIT_EVENT_CONSUMERS = [NOTIFY]
    change = assessed(alice)
    step = open_step(change)
    drain(django_capture_on_commit_callbacks)
    seen = list(Notification.objects.values_list("pk", flat=True))
    mail.outbox.clear()

    workflow.step_reassign(
        actor=mia,
        change_id=change.pk,
        step_id=step.pk,
        from_user="hank",
        to_user="fiona",
        reason="hank is on leave",
    )
    drain(django_capture_on_commit_callbacks)

    [told] = Notification.objects.exclude(pk__in=seen)
    assert (told.user, told.kind, told.params["key"]) == (fiona, "step_opened", change.key)
    assert _opened_for(hank, change) == 1 and _opened_for(alice, change) == 0
    [message] = mail.outbox
    assert message.to == [fiona.email] and "/links/" in message.body
