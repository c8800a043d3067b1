"""The notifications consumer of the audit-event outbox: who hears about what.

Called by approvals.outbox with a batch of committed events, inside the transaction that records
their dispatch; it reads what it needs in a handful of queries for the whole batch, writes the
Notification rows, and e-mails them once that transaction has committed.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from approvals.choices import ChangeState, DecisionKind, Role, StepKind
from approvals.models import ApprovalStep, AuditEvent, ChangeRequest, StepApprover
from approvals_channels import preferences
from notifications import emails
from notifications.models import Notification, NotificationKind

User = get_user_model()

DECISION_ACTIONS = {"approved", "rejected", "info_requested"}
OUTCOME_STATES = {ChangeState.APPROVED, ChangeState.REJECTED}


@dataclass
class Context:
    """What the batch needs from the database, loaded once."""

    changes: dict[int, ChangeRequest]
    steps: dict[int, ApprovalStep]
    seats: dict[int, list[int]]
    assessors: list[int]


def _load(events: list[AuditEvent]) -> Context:
    change_ids = {e.change_id for e in events if e.change_id}
    step_ids = {e.data.get("opened_step") for e in events} - {None}
    changes = ChangeRequest.objects.only(
        "pk", "title", "requester_id", "implementer_id", "state"
    ).in_bulk(change_ids)
    steps = ApprovalStep.objects.only("pk", "name", "kind").in_bulk(step_ids)
    seats: dict[int, list[int]] = defaultdict(list)
    for step_id, user_id in StepApprover.objects.filter(
        step_id__in=step_ids, user__is_active=True
    ).values_list("step_id", "user_id"):
        seats[step_id].append(user_id)
    assessors: list[int] = []
    if any(e.action == "submitted" and e.to_state == ChangeState.SUBMITTED for e in events):
        assessors = list(
            User.objects.filter(groups__name=Role.ASSESSOR, is_active=True).values_list(
                "pk", flat=True
            )
        )
    return Context(changes, steps, seats, assessors)


def _decision_label(decision: str) -> str:
    return (
        str(DecisionKind(decision).label).lower() if decision in DecisionKind.values else decision
    )


def _who(event: AuditEvent) -> str:
    return event.actor_name or _("the system")


def _for_event(event: AuditEvent, ctx: Context) -> Iterable[tuple[int | None, str, str]]:
    """(recipient id, kind, message) for each notification the event causes."""
    change = ctx.changes.get(event.change_id) if event.change_id else None
    if change is None:
        return
    key, data = change.key, event.data
    if event.action == "submitted" and event.to_state == ChangeState.SUBMITTED:
        message = _("%(key)s was submitted by %(who)s and awaits assessment.")
        for user_id in ctx.assessors:
            yield user_id, NotificationKind.SUBMITTED, message % {"key": key, "who": _who(event)}
    step = ctx.steps.get(data.get("opened_step"))
    if step is not None:
        if step.kind == StepKind.RETROSPECTIVE:
            kind = NotificationKind.RETROSPECTIVE_DUE
            message = _("%(key)s was implemented: its retrospective review “%(step)s” is due.")
        else:
            kind = NotificationKind.STEP_OPENED
            message = _("%(key)s awaits your decision on “%(step)s”.")
        for user_id in ctx.seats.get(step.pk, []):
            yield user_id, kind, message % {"key": key, "step": step.name}
    if event.action in DECISION_ACTIONS and "step_id" in data:
        if event.to_state in OUTCOME_STATES and event.from_state != event.to_state:
            message = _("%(key)s was %(state)s (last decision by %(who)s on “%(step)s”).")
            yield (
                change.requester_id,
                NotificationKind.OUTCOME,
                message
                % {
                    "key": key,
                    "state": ChangeState(event.to_state).label.lower(),
                    "who": _who(event),
                    "step": data.get("step_name", ""),
                },
            )
        else:
            message = _("%(who)s decided “%(decision)s” on step “%(step)s” of %(key)s.")
            yield (
                change.requester_id,
                NotificationKind.DECISION,
                message
                % {
                    "who": _who(event),
                    "decision": _decision_label(data.get("decision", "")),
                    "step": data.get("step_name", ""),
                    "key": key,
                },
            )
    if event.to_state == ChangeState.APPROVED and event.from_state != ChangeState.APPROVED:
        message = _("%(key)s is approved: you may implement it in its window.")
        yield change.implementer_id, NotificationKind.APPROVED, message % {"key": key}
    if event.action == "reminder_sent":
        message = _(
            "Reminder: %(key)s has waited for your decision on “%(step)s” for %(p)s %% of its SLA."
        )
        text = message % {"key": key, "step": data.get("step_name", ""), "p": data.get("percent")}
        for user_id in data.get("recipient_ids", []):
            yield user_id, NotificationKind.REMINDER, text
    if event.action == "escalated":
        message = _("%(key)s is overdue on “%(step)s” and was escalated to you: you may decide it.")
        text = message % {"key": key, "step": data.get("step_name", "")}
        for user_id in data.get("escalated_to_ids", []):
            yield user_id, NotificationKind.ESCALATION, text


def notify(events: list[AuditEvent]) -> None:
    """Create the notifications for a batch of audit events; e-mail them after commit."""
    ctx = _load(events)
    rows: dict[tuple[int, int, str], Notification] = {}
    for event in events:
        for user_id, kind, message in _for_event(event, ctx):
            # Nobody is told about what they did themselves.
            if user_id is None or user_id == event.actor_id:
                continue
            rows.setdefault(
                (event.pk, user_id, kind),
                Notification(
                    user_id=user_id,
                    kind=kind,
                    change_id=event.change_id,
                    event=event,
                    message=message[:300],
                    created_at=event.occurred_at,
                ),
            )
    if not rows:
        return
    Notification.objects.bulk_create(rows.values(), ignore_conflicts=True)
    event_ids = [event.pk for event in events]
    # Who turned in-app notifications off finds them read (no badge); the e-mail still goes.
    transaction.on_commit(lambda: preferences.mark_read_without_in_app(event_ids))
    transaction.on_commit(lambda: emails.send_for_events(event_ids))
