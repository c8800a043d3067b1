"""The notifications consumer of the audit-event outbox: who hears about what.

Called by approvals.outbox with a batch of committed events, inside the transaction that records
their dispatch; it reads what it needs in a handful of queries for the whole batch, writes the
Notification rows, and e-mails them once that transaction has committed.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from approvals import mentions
from approvals.choices import ChangeState, Role, StepKind
from approvals.models import ApprovalStep, AuditEvent, ChangeRequest, StepApprover
from approvals_channels import preferences
from notifications import emails
from notifications.announced import opened_step_id, reassigned_step_id
from notifications.models import Notification, NotificationKind

User = get_user_model()

DECISION_ACTIONS = {"approved", "rejected", "info_requested"}
OUTCOME_STATES = {ChangeState.APPROVED, ChangeState.REJECTED}
EXCERPT_MAX = 140  # characters of a comment quoted in a mention


@dataclass
class Context:
    """What the batch needs from the database, loaded once."""

    changes: dict[int, ChangeRequest]
    steps: dict[int, ApprovalStep]
    seats: dict[int, list[int]]
    assessors: list[int]
    new_seat_holders: dict[str, int]
    # (change id, user id) of each person a comment mentioned who may see the change now.
    mention_viewers: set[tuple[int, int]]


def _load(events: list[AuditEvent]) -> Context:
    change_ids = {e.change_id for e in events if e.change_id}
    opened_ids = {opened_step_id(e.data) for e in events} - {None}
    step_ids = opened_ids | ({e.data.get("step_id") for e in events} - {None})
    reassigned_to = {
        e.data.get("to") for e in events if reassigned_step_id(e.action, e.data) is not None
    } - {None}
    changes = ChangeRequest.objects.only(
        "pk", "title", "requester_id", "implementer_id", "state", "round"
    ).in_bulk(change_ids)
    steps = ApprovalStep.objects.only("pk", "name", "name_zh", "kind").in_bulk(step_ids)
    seats: dict[int, list[int]] = defaultdict(list)
    for step_id, user_id in StepApprover.objects.filter(
        step_id__in=opened_ids, user__is_active=True
    ).values_list("step_id", "user_id"):
        seats[step_id].append(user_id)
    new_seat_holders = dict(
        User.objects.filter(username__in=reassigned_to, is_active=True).values_list(
            "username", "pk"
        )
    )
    assessors: list[int] = []
    if any(e.action == "submitted" and e.to_state == ChangeState.SUBMITTED for e in events):
        assessors = list(
            User.objects.filter(groups__name=Role.ASSESSOR, is_active=True).values_list(
                "pk", flat=True
            )
        )
    return Context(
        changes, steps, seats, assessors, new_seat_holders, _mention_viewers(events, changes)
    )


def _mention_viewers(
    events: list[AuditEvent], changes: dict[int, ChangeRequest]
) -> set[tuple[int, int]]:
    # Asked again when the event is handed over, not only when the comment was written: a
    # delegation may have ended, an account been deactivated, since.
    wanted: dict[int, set[int]] = defaultdict(set)
    for event in events:
        if event.action == "commented" and event.change_id:
            wanted[event.change_id].update(_ids(event.data.get("mentioned_ids")))
    people = mentions.people_with_ids({pk for ids in wanted.values() for pk in ids})
    return mentions.viewers(changes, wanted, people)


def _ids(value: Any) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def excerpt(text: str) -> str:
    """The start of a comment on one line, as a notification quotes it."""
    line = " ".join(text.split())
    return line if len(line) <= EXCERPT_MAX else line[: EXCERPT_MAX - 1].rstrip() + "…"


def _step_names(step: ApprovalStep | None, recorded: str) -> dict[str, str]:
    """The step's name in both languages (the event's record of the English one when the step
    row is gone)."""
    if step is None:
        return {"step": recorded, "step_zh": ""}
    return {"step": step.name, "step_zh": step.name_zh}


Params = dict[str, Any]


def _opened_kind(step: ApprovalStep) -> str:
    if step.kind == StepKind.RETROSPECTIVE:
        return NotificationKind.RETROSPECTIVE_DUE
    return NotificationKind.STEP_OPENED


def _for_event(event: AuditEvent, ctx: Context) -> Iterable[tuple[int | None, str, Params]]:
    """(recipient id, kind, parameters) for each notification the event causes; the sentence is
    written from them in the recipient's language when it is shown or sent."""
    change = ctx.changes.get(event.change_id) if event.change_id else None
    if change is None:
        return
    data = event.data
    base: Params = {"key": change.key, "who": event.actor_name}
    if event.action == "submitted" and event.to_state == ChangeState.SUBMITTED:
        for user_id in ctx.assessors:
            yield user_id, NotificationKind.SUBMITTED, base
    opened = opened_step_id(data)
    step = ctx.steps.get(opened) if opened is not None else None
    if step is not None:
        for user_id in ctx.seats.get(step.pk, []):
            yield user_id, _opened_kind(step), base | _step_names(step, step.name)
    reassigned = reassigned_step_id(event.action, data)
    moved = ctx.steps.get(reassigned) if reassigned is not None else None
    if moved is not None:
        # Only the person who takes the seat: for them the step has just opened.
        yield (
            ctx.new_seat_holders.get(data.get("to")),
            _opened_kind(moved),
            base | _step_names(moved, moved.name),
        )
    decided = base | _step_names(ctx.steps.get(data.get("step_id")), data.get("step_name", ""))
    if event.action in DECISION_ACTIONS and "step_id" in data:
        if event.to_state in OUTCOME_STATES and event.from_state != event.to_state:
            yield change.requester_id, NotificationKind.OUTCOME, decided | {"state": event.to_state}
        else:
            decision = {"decision": data.get("decision", "")}
            yield change.requester_id, NotificationKind.DECISION, decided | decision
    if event.to_state == ChangeState.APPROVED and event.from_state != ChangeState.APPROVED:
        yield change.implementer_id, NotificationKind.APPROVED, base
    if event.action == "reminder_sent":
        for user_id in data.get("recipient_ids", []):
            yield user_id, NotificationKind.REMINDER, decided | {"percent": data.get("percent")}
    if event.action == "escalated":
        for user_id in data.get("escalated_to_ids", []):
            yield user_id, NotificationKind.ESCALATION, decided
    if event.action == "commented":
        quoted = base | {"excerpt": excerpt(str(data.get("text", "")))}
        for user_id in _ids(data.get("mentioned_ids")):
            if (change.pk, user_id) in ctx.mention_viewers:
                yield user_id, NotificationKind.MENTIONED, quoted


def _one_per_person(rows: dict[tuple[int, int, str], Notification]) -> None:
    """A mention adds nothing for someone the same event already tells something else."""
    told_otherwise = {
        (event_id, user_id)
        for event_id, user_id, kind in rows
        if kind != NotificationKind.MENTIONED
    }
    for event_id, user_id, kind in list(rows):
        if kind == NotificationKind.MENTIONED and (event_id, user_id) in told_otherwise:
            del rows[(event_id, user_id, kind)]


def notify(events: list[AuditEvent]) -> None:
    """Create the notifications for a batch of audit events; e-mail them after commit."""
    ctx = _load(events)
    rows: dict[tuple[int, int, str], Notification] = {}
    for event in events:
        for user_id, kind, params in _for_event(event, ctx):
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
                    params=params,
                    created_at=event.occurred_at,
                ),
            )
    if not rows:
        return
    _one_per_person(rows)
    Notification.objects.bulk_create(rows.values(), ignore_conflicts=True)
    event_ids = [event.pk for event in events]
    # Who turned in-app notifications off finds them read (no badge); the e-mail still goes.
    transaction.on_commit(lambda: preferences.mark_read_without_in_app(event_ids))
    transaction.on_commit(lambda: emails.send_for_events(event_ids))
