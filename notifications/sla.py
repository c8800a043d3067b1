"""SLA reminders and escalation of open approval steps.

A step's SLA runs from opened_at to due_at. Its approvers who have not decided are reminded at
50 % and at 100 % of it; once it is overdue the workflow's escalation action seats its escalation
target (source "escalation"), so they may decide it. Each (step, level) happens once per opening
of the step (a re-opened final approval starts afresh): the SlaAction
ledger row, unique per step and level, is inserted in the same transaction as the audit event,
under the change's row lock, however many scans run at once or retry.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, QuerySet

from approvals import audit, outbox
from approvals.choices import StepStatus
from approvals.clock import database_now
from approvals.models import ApprovalStep, AuditEvent, ChangeRequest, Decision
from approvals.workflow.escalation import step_escalate
from notifications.models import SlaAction, SlaLevel

log = logging.getLogger(__name__)
User = get_user_model()

# At most this many (step, level) actions per scan and level; the next scan takes the rest.
SCAN_LIMIT = 500

PERCENT: dict[str, int] = {SlaLevel.HALF: 50, SlaLevel.DUE: 100}


@dataclass(frozen=True)
class DueAction:
    step_id: int
    change_id: int
    level: str


def _open_steps() -> QuerySet[ApprovalStep]:
    return ApprovalStep.objects.filter(
        status=StepStatus.PENDING, opened_at__isnull=False, due_at__isnull=False
    )


def _done(level: str) -> Exists:
    # A ledger row from before the step's latest opening (a final approval re-opened by a
    # reschedule) belongs to the earlier opening: the new one is reminded and escalated afresh.
    return Exists(
        SlaAction.objects.filter(
            step=OuterRef("pk"), level=level, created_at__gte=OuterRef("opened_at")
        )
    )


def due_actions(*, now: datetime) -> list[DueAction]:
    """Every reminder and escalation due now and not yet done: three queries, whatever the
    number of open changes."""
    half_time = ExpressionWrapper(
        F("opened_at") + (F("due_at") - F("opened_at")) / 2, output_field=DateTimeField()
    )
    by_level = {
        SlaLevel.HALF: _open_steps().alias(half_at=half_time).filter(half_at__lte=now),
        SlaLevel.DUE: _open_steps().filter(due_at__lte=now),
        SlaLevel.ESCALATION: _open_steps().filter(
            due_at__lt=now, escalated_at__isnull=True, escalation_group__isnull=False
        ),
    }
    actions = []
    for level, steps in by_level.items():
        rows = steps.exclude(_done(level)).order_by("due_at", "pk")[:SCAN_LIMIT]
        actions += [
            DueAction(step_id, change_id, level)
            for step_id, change_id in rows.values_list("pk", "change_id")
        ]
    return actions


def sla_scan(*, now: datetime | None = None) -> int:
    """Send the reminders and escalations due now (by the database's clock); returns how many
    were done by this scan."""
    now = now or database_now()
    done = 0
    for action in due_actions(now=now):
        if step_sla_act(step_id=action.step_id, level=action.level, now=now) is not None:
            done += 1
    return done


def _lock_change(change_id: int) -> ChangeRequest:
    # The change's row lock orders this event in the change's audit chain with every action on
    # the change, and makes a decision that closes the step and this reminder mutually exclusive.
    return ChangeRequest.objects.select_for_update(of=("self",)).get(pk=change_id)


def _still_due(step: ApprovalStep, level: str, now: datetime) -> bool:
    if step.status != StepStatus.PENDING or step.opened_at is None or step.due_at is None:
        return False
    if level == SlaLevel.HALF:
        return step.opened_at + (step.due_at - step.opened_at) / 2 <= now
    if level == SlaLevel.ESCALATION:
        return (
            step.due_at < now and step.escalated_at is None and step.escalation_group_id is not None
        )
    return step.due_at <= now


def step_sla_act(*, step_id: int, level: str, now: datetime | None = None) -> AuditEvent | None:
    """Send one reminder or escalate one step, once; None when it is not (or no longer) due or
    was already done."""
    now = now or database_now()
    change_id = ApprovalStep.objects.filter(pk=step_id).values_list("change_id", flat=True).first()
    if change_id is None:
        return None
    with transaction.atomic():
        change = _lock_change(change_id)
        step = ApprovalStep.objects.select_related("escalation_group").get(pk=step_id)
        if not _still_due(step, level, now):
            return None
        earlier = SlaAction.objects.filter(step=step, level=level).first()
        if earlier is not None:
            if step.opened_at is None or earlier.created_at >= step.opened_at:
                return None
            earlier.delete()  # left by an earlier opening of the step
        try:
            with transaction.atomic():
                ledger = SlaAction.objects.create(step=step, level=level, created_at=now)
        except IntegrityError:  # a concurrent scan did it first
            return None
        if level == SlaLevel.HALF and step.due_at is not None and step.due_at <= now:
            # Overdue before the half-time reminder ever went out (workers were down): the 100 %
            # reminder says more; record the half-time one as superseded, without sending it.
            return None
        if level == SlaLevel.ESCALATION:
            event = _escalate(change, step, now)
        else:
            event = _remind(change, step, level)
        ledger.event = event
        ledger.save(update_fields=["event"])
        change.save(update_fields=["audit_length", "audit_head"])
        outbox.events_recorded()
    return event


def _step_data(step: ApprovalStep) -> dict:
    return {
        "step": step.order,
        "step_id": step.pk,
        "step_name": step.name,
        "step_kind": step.kind,
        "opened_at": step.opened_at,
        "due_at": step.due_at,
    }


def _remind(change: ChangeRequest, step: ApprovalStep, level: str) -> AuditEvent:
    decided = Decision.objects.filter(step=step, voided=False).values("seat_id")
    waiting = (
        User.objects.filter(pk__in=step.seats.values("user_id"), is_active=True)
        .exclude(pk__in=decided)
        .order_by("username")
        .values_list("pk", "username")
    )
    ids, names = [pk for pk, _ in waiting], [name for _, name in waiting]
    return audit.step_reminded(
        change=change,
        data=_step_data(step)
        | {"level": level, "percent": PERCENT[level], "recipients": names, "recipient_ids": ids},
    )


def _escalate(change: ChangeRequest, step: ApprovalStep, now: datetime) -> AuditEvent:
    event = step_escalate(change=change, step=step, now=now)
    if not event.data.get("escalated_to"):
        log.warning("step %s escalated, but nobody is eligible to take it", step.pk)
    return event
