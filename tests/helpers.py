"""Drive changes through the service layer, as every interface does."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals import workflow
from approvals.models import ChangeRequest

User = get_user_model()

PLANS = {
    "backout_plan": "Restore the snapshot taken before the change.",
    "test_plan": "Run the smoke suite.",
}


def user(username: str) -> Any:
    return User.objects.get(username=username)


def new_change(requester: Any, **fields: Any) -> ChangeRequest:
    data: dict[str, Any] = {
        "title": "Upgrade the ticketing database",
        "description": "Move from version 14 to 16.",
        "goal": "Stay on a supported version.",
        "scope": "Ticketing database cluster.",
        "expected_impact": "Ten minutes of read-only mode.",
        "change_type": "normal",
        "category": "software_upgrade",
        "impact": "low",
        "departments": [],
        "implementer": "ivan",
        # A window open now, so an approved change may start at once; tests of the window
        # itself set their own.
        "planned_start": timezone.now() + timedelta(minutes=5),
        "planned_end": timezone.now() + timedelta(days=3),
        **PLANS,
    }
    data.update(fields)
    return workflow.change_create(actor=requester, data=data)


def submitted(requester: Any, **fields: Any) -> ChangeRequest:
    change = new_change(requester, **fields)
    return workflow.change_submit(actor=requester, change_id=change.pk)


def assessed(
    requester: Any, *, impact: str = "low", risk: str = "low", **fields: Any
) -> ChangeRequest:
    change = submitted(requester, impact=impact, **fields)
    return workflow.change_assess(
        actor=user("ada"), change_id=change.pk, impact=impact, risk=risk, notes="feasible"
    )


def approve(username: str, change: ChangeRequest, comment: str = "ok") -> ChangeRequest:
    return workflow.step_decide(
        actor=user(username), change_id=change.pk, decision="approve", comment=comment
    )


def route(change: ChangeRequest) -> list[tuple[str, str, list[str]]]:
    """(name, status, sorted approver usernames) of each step in the current round."""
    steps = change.steps.filter(round=change.round).order_by("order").prefetch_related("approvers")
    return [(s.name, s.status, sorted(u.username for u in s.approvers.all())) for s in steps]


def refresh(change: ChangeRequest) -> ChangeRequest:
    return ChangeRequest.objects.get(pk=change.pk)


def standard_change(requester: Any, template: Any, **fields: Any) -> ChangeRequest:
    """A draft standard change: the requester sets only title, details, window and implementer."""
    data: dict[str, Any] = {
        "title": "Patch the application servers",
        "description": "This month's patches.",
        "change_type": "standard",
        "template": template.pk,
        "implementer": "ivan",
        "planned_start": timezone.now() + timedelta(minutes=5),
        "planned_end": timezone.now() + timedelta(hours=4),
    }
    data.update(fields)
    return workflow.change_create(actor=requester, data=data)


def decide(
    username: str, change: ChangeRequest, decision: str, comment: str = "because", **extra: Any
) -> ChangeRequest:
    return workflow.step_decide(
        actor=user(username), change_id=change.pk, decision=decision, comment=comment, **extra
    )


def counts(change: ChangeRequest) -> tuple[Any, ...]:
    """What a refused action must leave as it was: the change row, its steps, seats, decisions
    and its audit trail."""
    from approvals.models import AuditEvent, Decision, StepApprover

    row = ChangeRequest.objects.filter(pk=change.pk).values().first()
    steps = list(change.steps.order_by("pk").values())
    return (
        row,
        steps,
        StepApprover.objects.filter(step__change=change).count(),
        list(Decision.objects.filter(step__change=change).values()),
        AuditEvent.objects.filter(change=change).count(),
        AuditEvent.objects.count(),
    )


def open_step_id(change: ChangeRequest) -> int:
    """The id of the change's open step, as a page or an integrator sends it with a decision."""
    from approvals.models import ApprovalStep

    current = ChangeRequest.objects.get(pk=change.pk)
    return ApprovalStep.objects.get(change=current, round=current.round, status="pending").pk


# Every field of an audit event in the order API.md gives them (the export files' columns).
AUDIT_EVENT_COLUMNS = (
    "seq",
    "occurred_at",
    "actor",
    "on_behalf_of",
    "action",
    "change",
    "from_state",
    "to_state",
    "data",
    "prev_hash",
    "hash",
    "chain",
    "chain_index",
    "snapshot",
    "request_id",
)
