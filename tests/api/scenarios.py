"""Changes in each state of the lifecycle, built through the service layer."""

from collections.abc import Callable
from typing import Any

from approvals import workflow
from approvals.models import ChangeRequest
from tests.helpers import approve, assessed, new_change, submitted, user


def draft() -> ChangeRequest:
    return new_change(user("alice"), impact="medium")


def others_draft() -> ChangeRequest:
    """bob's draft without an implementer: invisible to plain requesters such as alice."""
    return new_change(user("bob"), implementer=None)


def in_submitted() -> ChangeRequest:
    return submitted(user("alice"), impact="medium")


def at_department_head() -> ChangeRequest:
    """Medium normal change, first step (hank, head of IT) open."""
    return assessed(user("alice"), impact="medium")


def approved() -> ChangeRequest:
    """Low normal change: hank then mia approved it; ivan implements."""
    change = assessed(user("alice"))
    approve("hank", change)
    return approve("mia", change)


def implementing() -> ChangeRequest:
    change = approved()
    return workflow.change_start(actor=user("ivan"), change_id=change.pk)


def implemented() -> ChangeRequest:
    change = implementing()
    return workflow.change_complete(
        actor=user("ivan"), change_id=change.pk, outcome="success", notes="done"
    )


SCENARIOS: dict[str, Callable[[], Any]] = {
    "draft": draft,
    "others_draft": others_draft,
    "submitted": in_submitted,
    "tier": at_department_head,
    "approved": approved,
    "implementing": implementing,
    "implemented": implemented,
}
