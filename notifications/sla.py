"""SLA reminders and escalation of open approval steps.

A step's SLA runs from opened_at to due_at. Its approvers who have not decided are reminded at
50 % and at 100 % of it; once it is overdue the workflow's escalation action seats its escalation
target (source "escalation"), so they may decide it. Each (step, level) happens once per opening
of the step (a re-opened final approval starts afresh): the SlaAction ledger row, unique per step
and level, is inserted in the same transaction as the audit event, under the change's row lock,
however many scans run at once or retry.

A scan works through the whole backlog, a batch of changes at a time: each batch is one
transaction that locks its changes, re-reads what is due under the locks and does it in a few
queries for the whole batch. A decision on one of them waits for that batch only, never for
the scan.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import (
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)

from approvals import audit, outbox
from approvals.choices import StepStatus
from approvals.clock import database_now
from approvals.models import ApprovalStep, AuditEvent, ChangeRequest, Decision, StepApprover
from approvals.workflow.escalation import steps_escalate
from notifications.models import SlaAction, SlaLevel

log = logging.getLogger(__name__)

# Changes locked and worked on in one transaction: enough to share each query among a hundred
# or so actions, few enough that a decision on one of them waits a fraction of a second.
BATCH_CHANGES = 50

PERCENT: dict[str, int] = {SlaLevel.HALF: 50, SlaLevel.DUE: 100}
# In this order within a step: the 100 % reminder goes out before the escalation it announces.
LEVELS = (SlaLevel.HALF, SlaLevel.DUE, SlaLevel.ESCALATION)
_DONE = {
    SlaLevel.HALF: "half_done",
    SlaLevel.DUE: "due_done",
    SlaLevel.ESCALATION: "escalation_done",
}


@dataclass(frozen=True)
class DueAction:
    step_id: int
    change_id: int
    level: str


def _done(level: str) -> Exists:
    # A ledger row from before the step's latest opening (a final approval re-opened by a
    # reschedule) belongs to the earlier opening: the new one is reminded and escalated afresh.
    return Exists(
        SlaAction.objects.filter(
            step=OuterRef("pk"), level=level, created_at__gte=OuterRef("opened_at")
        )
    )


def _due_steps(now: datetime) -> QuerySet[ApprovalStep]:
    """Open steps with a reminder or escalation due now and not yet done in their current
    opening, each annotated with the levels done (`half_done` …) and with `stale`: the ledger
    holds rows of an earlier opening."""
    half_time = ExpressionWrapper(
        F("opened_at") + (F("due_at") - F("opened_at")) / 2, output_field=DateTimeField()
    )
    earlier = SlaAction.objects.filter(step=OuterRef("pk"), created_at__lt=OuterRef("opened_at"))
    return (
        ApprovalStep.objects.filter(
            status=StepStatus.PENDING, opened_at__isnull=False, due_at__isnull=False
        )
        .alias(half_at=half_time)
        .annotate(**{_DONE[level]: _done(level) for level in LEVELS}, stale=Exists(earlier))
        .filter(
            Q(half_at__lte=now, half_done=False)
            | Q(due_at__lte=now, due_done=False)
            | Q(
                due_at__lt=now,
                escalated_at__isnull=True,
                escalation_group__isnull=False,
                escalation_done=False,
            )
        )
    )


def _is_due(step: ApprovalStep, level: str, now: datetime) -> bool:
    if step.status != StepStatus.PENDING or step.opened_at is None or step.due_at is None:
        return False
    if level == SlaLevel.HALF:
        return step.opened_at + (step.due_at - step.opened_at) / 2 <= now
    if level == SlaLevel.ESCALATION:
        return (
            step.due_at < now and step.escalated_at is None and step.escalation_group_id is not None
        )
    return step.due_at <= now


def _levels_due(step: ApprovalStep, now: datetime) -> list[str]:
    """What is due on a step from `_due_steps` and not done yet, in order."""
    return [
        level for level in LEVELS if not getattr(step, _DONE[level]) and _is_due(step, level, now)
    ]


def due_actions(*, now: datetime) -> list[DueAction]:
    """Every reminder and escalation due now and not yet done: one query, whatever the number
    of open changes."""
    steps = _due_steps(now).only(
        "pk", "change_id", "status", "opened_at", "due_at", "escalated_at", "escalation_group_id"
    )
    return [
        DueAction(step.pk, step.change_id, level)
        for step in steps.order_by("due_at", "pk")
        for level in _levels_due(step, now)
    ]


def sla_scan(*, now: datetime | None = None, seconds: float | None = None) -> int:
    """Send the reminders and escalations due (by the database's clock) until none is left that
    this scan may take, or for at most `seconds` (SLA_SCAN_MAX_SECONDS): the next scan goes on
    from there. Returns how many were sent by this scan."""
    limit = settings.SLA_SCAN_MAX_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + limit
    sent = 0
    while True:
        moment = now or database_now()
        change_ids = sorted({action.change_id for action in due_actions(now=moment)})
        recorded = 0
        for start in range(0, len(change_ids), BATCH_CHANGES):
            done = _scan_batch(change_ids[start : start + BATCH_CHANGES], now=moment)
            recorded += len(done)
            sent += sum(event is not None for event in done)
            if time.monotonic() >= deadline:
                return sent
        # Nothing recorded: what is left is locked by someone else or fails; the next scan tries.
        if not recorded:
            return sent


def _scan_batch(change_ids: Sequence[int], *, now: datetime) -> list[AuditEvent | None]:
    try:
        with transaction.atomic():
            return _act(_lock_changes(change_ids, skip_locked=True), now=now)
    except (OperationalError, InterfaceError):
        raise  # the database itself is unreachable: the task retries with backoff
    except Exception:
        log.exception("SLA actions of changes %s failed; trying each change alone", change_ids)
    done: list[AuditEvent | None] = []
    for change_id in change_ids:
        try:
            with transaction.atomic():
                done += _act(_lock_changes([change_id], skip_locked=True), now=now)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            log.exception("SLA actions of change %s failed; the next scan tries again", change_id)
    return done


def _lock_changes(change_ids: Sequence[int], *, skip_locked: bool) -> list[ChangeRequest]:
    # The change's row lock orders these events in the change's audit chain with every action on
    # the change, and makes a decision that closes a step and its reminder mutually exclusive.
    # A scan skips changes locked by anyone else (a decision, another scan), so concurrent scans
    # share the work and never wait for each other; locking in pk order never deadlocks.
    return list(
        ChangeRequest.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .filter(pk__in=change_ids)
        .order_by("pk")
    )


def step_sla_act(*, step_id: int, level: str, now: datetime | None = None) -> AuditEvent | None:
    """Send one reminder or escalate one step, once; None when it is not (or no longer) due or
    was already done."""
    now = now or database_now()
    change_ids = ApprovalStep.objects.filter(pk=step_id).values_list("change_id", flat=True)
    change_id = change_ids.order_by().first()
    if change_id is None:
        return None
    with transaction.atomic():
        done = _act(_lock_changes([change_id], skip_locked=False), now=now, only=(step_id, level))
    return done[0] if done else None


def _act(
    changes: list[ChangeRequest], *, now: datetime, only: tuple[int, str] | None = None
) -> list[AuditEvent | None]:
    """Do what is due on the locked `changes` (or only that step and level), in the same few
    queries however much it is: one entry per ledger row written, the audit event or None for
    a superseded half-time reminder."""
    by_pk = {change.pk: change for change in changes}
    work = _due_under_lock(by_pk, now=now, only=only)
    if not work:
        return []
    done = _send(by_pk, work, now=now)
    # Unique per step and level: should anything else ever have done one of these, the whole
    # batch rolls back, its events with it.
    SlaAction.objects.bulk_create(
        SlaAction(step=step, level=level, created_at=now, event=done[step.pk, level])
        for step, level in work
    )
    touched = sorted({step.change_id for step, level in work if done[step.pk, level]})
    if touched:
        ChangeRequest.objects.bulk_update(
            [by_pk[pk] for pk in touched], ["audit_length", "audit_head"]
        )
        outbox.events_recorded()
    return [done[step.pk, level] for step, level in work]


def _due_under_lock(
    by_pk: dict[int, ChangeRequest], *, now: datetime, only: tuple[int, str] | None
) -> list[tuple[ApprovalStep, str]]:
    # Read again under the locks: a step decided, closed or done by another scan since the scan
    # listed it is no longer here.
    steps = (
        _due_steps(now)
        .filter(change_id__in=by_pk)
        .select_related("escalation_group")
        .order_by("change_id", "round", "order")
    )
    work = [
        (step, level)
        for step in steps
        for level in _levels_due(step, now)
        if only is None or only == (step.pk, level)
    ]
    stale = {step.pk for step, _ in work if step.stale}  # type: ignore[attr-defined]
    if stale:  # rows of an earlier opening make way for this opening's
        SlaAction.objects.filter(step__in=stale, created_at__lt=F("step__opened_at")).delete()
    return work


def _send(
    by_pk: dict[int, ChangeRequest], work: list[tuple[ApprovalStep, str]], *, now: datetime
) -> dict[tuple[int, str], AuditEvent | None]:
    # Overdue before the half-time reminder ever went out (workers were down): the 100 %
    # reminder says more; the half-time one is recorded as superseded, without sending it.
    done: dict[tuple[int, str], AuditEvent | None] = {
        (step.pk, level): None
        for step, level in work
        if level == SlaLevel.HALF and step.due_at is not None and step.due_at <= now
    }
    reminders = [
        (step, level)
        for step, level in work
        if level != SlaLevel.ESCALATION and (step.pk, level) not in done
    ]
    waiting = _waiting([step.pk for step, _ in reminders])
    overdue = [step for step, level in work if level == SlaLevel.ESCALATION]
    with audit.inserted_together(at=database_now()):
        for step, level in reminders:
            done[step.pk, level] = _remind(by_pk[step.change_id], step, level, waiting[step.pk])
        escalations = steps_escalate(changes=by_pk, steps=overdue, now=now)
    for step, event in zip(overdue, escalations, strict=True):
        if not event.data.get("escalated_to"):
            log.warning("step %s escalated, but nobody is eligible to take it", step.pk)
        done[step.pk, SlaLevel.ESCALATION] = event
    return done


def _waiting(step_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """(id, username) of each step's active approvers who have not decided it, by username."""
    waiting: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if not step_ids:
        return waiting
    decided = Decision.objects.filter(
        step_id=OuterRef("step_id"), seat_id=OuterRef("user_id"), voided=False
    )
    rows = (
        StepApprover.objects.filter(step_id__in=step_ids, user__is_active=True)
        .exclude(Exists(decided))
        .order_by("user__username")
        .values_list("step_id", "user_id", "user__username")
    )
    for step_id, user_id, username in rows:
        waiting[step_id].append((user_id, username))
    return waiting


def _step_data(step: ApprovalStep) -> dict:
    return {
        "step": step.order,
        "step_id": step.pk,
        "step_name": step.name,
        "step_kind": step.kind,
        "opened_at": step.opened_at,
        "due_at": step.due_at,
    }


def _remind(
    change: ChangeRequest, step: ApprovalStep, level: str, waiting: list[tuple[int, str]]
) -> AuditEvent:
    ids, names = [pk for pk, _ in waiting], [name for _, name in waiting]
    return audit.step_reminded(
        change=change,
        data=_step_data(step)
        | {"level": level, "percent": PERCENT[level], "recipients": names, "recipient_ids": ids},
    )
