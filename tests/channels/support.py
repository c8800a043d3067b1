from typing import Any

from approvals import outbox
from approvals.models import ApprovalStep, ChangeRequest

NOTIFY = "notifications.consumers.notify"
CHAT = "approvals_channels.chat.enqueue_messages"


def drain(capture: Any) -> int:
    """Hand committed audit events to the consumers, and run what they do after commit."""
    with capture(execute=True):
        return outbox.events_dispatch()


def open_step(change: ChangeRequest) -> ApprovalStep:
    current = ChangeRequest.objects.get(pk=change.pk)
    return ApprovalStep.objects.get(change=current, round=current.round, status="pending")
