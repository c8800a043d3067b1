"""Page-specific reads. Lists keep a constant number of queries whatever their length."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from approvals.choices import OPEN_STATES, ChangeState
from approvals.models import (
    ApprovalStep,
    AuditEvent,
    BlackoutWindow,
    ChangeRequest,
    Delegation,
    Policy,
    PolicyStep,
    StepApprover,
)
from approvals.policy import Actor
from approvals.selectors import inbox, inbox_counts, visible_changes, with_route

SCHEDULED_STATES = (ChangeState.APPROVED, ChangeState.IMPLEMENTING)


def dashboard_data(actor: Actor) -> dict:
    mine = (
        ChangeRequest.objects.filter(requester_id=actor.id, state__in=OPEN_STATES)
        .prefetch_related("departments")
        .order_by("-updated_at")
    )
    drafts = [c for c in mine if c.state == ChangeState.DRAFT]
    open_changes = [c for c in mine if c.state != ChangeState.DRAFT]
    recent = (
        AuditEvent.objects.filter(change__in=visible_changes(actor))
        .select_related("change")
        .order_by("-seq")[:10]
    )
    counts = inbox_counts(actor)
    return {
        "drafts": drafts,
        "open_changes": open_changes,
        "inbox_count": counts["count"],
        "overdue_count": counts["overdue_count"],
        "recent": list(recent),
    }


def change_list(actor: Actor, *, state: str = "", search: str = "") -> QuerySet[ChangeRequest]:
    qs = visible_changes(actor).select_related("requester").prefetch_related("departments")
    if state:
        qs = qs.filter(state=state)
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(description__icontains=search))
    return qs.order_by("-updated_at")


def change_for_page(actor: Actor, change_id: int) -> ChangeRequest | None:
    qs = with_route(visible_changes(actor)).prefetch_related(
        Prefetch("attachments__uploaded_by"), Prefetch("comments__author")
    )
    return qs.filter(pk=change_id).first()


def timeline(change: ChangeRequest) -> list[AuditEvent]:
    return list(change.audit_events.order_by("seq"))


@dataclass(frozen=True)
class Conflict:
    change: ChangeRequest
    other: ChangeRequest | None = None
    blackout: BlackoutWindow | None = None


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def _department_ids(change: ChangeRequest) -> set[int]:
    return {d.pk for d in change.departments.all()}


def _blackout_applies(window: BlackoutWindow, departments: set[int]) -> bool:
    window_departments = {d.pk for d in window.departments.all()}
    return not window_departments or bool(window_departments & departments)


def find_conflicts(
    changes: list[ChangeRequest], windows: list[BlackoutWindow], *, others: list | None = None
) -> list[Conflict]:
    """Overlapping windows of changes sharing a department, and changes inside blackout windows.

    Pure: works on loaded rows (departments prefetched). `others` defaults to `changes`.
    """
    others = changes if others is None else others
    found: list[Conflict] = []
    seen: set[tuple[int, int]] = set()
    for change in changes:
        if not (change.planned_start and change.planned_end):
            continue
        departments = _department_ids(change)
        for other in others:
            if other.pk == change.pk or not (other.planned_start and other.planned_end):
                continue
            pair = (min(change.pk, other.pk), max(change.pk, other.pk))
            if pair in seen:
                continue
            if departments & _department_ids(other) and _overlap(
                change.planned_start, change.planned_end, other.planned_start, other.planned_end
            ):
                seen.add(pair)
                found.append(Conflict(change=change, other=other))
        for window in windows:
            if _blackout_applies(window, departments) and _overlap(
                change.planned_start, change.planned_end, window.starts_at, window.ends_at
            ):
                found.append(Conflict(change=change, blackout=window))
    return found


def blackouts_between(start: datetime, end: datetime) -> list[BlackoutWindow]:
    return list(
        BlackoutWindow.objects.filter(ends_at__gt=start, starts_at__lt=end).prefetch_related(
            "departments"
        )
    )


def scheduled_changes(start: datetime, end: datetime) -> list[ChangeRequest]:
    return list(
        ChangeRequest.objects.filter(
            state__in=SCHEDULED_STATES, planned_start__lt=end, planned_end__gt=start
        )
        .select_related("requester", "implementer")
        .prefetch_related("departments")
        .order_by("planned_start", "pk")
    )


def conflicts_for_change(change: ChangeRequest) -> list[Conflict]:
    """What the change's planned window collides with (scheduled changes, blackout windows)."""
    if not (change.planned_start and change.planned_end):
        return []
    start, end = change.planned_start, change.planned_end
    others = list(
        ChangeRequest.objects.filter(
            state__in=SCHEDULED_STATES,
            planned_start__lt=end,
            planned_end__gt=start,
            departments__in=[d.pk for d in change.departments.all()],
        )
        .exclude(pk=change.pk)
        .distinct()
        .prefetch_related("departments")
    )
    return find_conflicts([change], blackouts_between(start, end), others=others)


def calendar_data(start: datetime | None = None, days: int = 42) -> dict:
    start = start or timezone.now() - timedelta(days=7)
    end = start + timedelta(days=days)
    changes = scheduled_changes(start, end)
    windows = blackouts_between(start, end)
    return {
        "start": start,
        "end": end,
        "changes": changes,
        "windows": windows,
        "conflicts": find_conflicts(changes, windows),
    }


def inbox_rows(actor: Actor) -> list[ApprovalStep]:
    """The inbox with each step's seats and decisions, so rows can say "on behalf of" (fixed
    queries)."""
    seats = StepApprover.objects.select_related("user")
    return list(inbox(actor).prefetch_related(Prefetch("seats", queryset=seats), "decisions"))


def assessor_queue(actor: Actor) -> list[ChangeRequest]:
    return list(
        visible_changes(actor)
        .filter(state=ChangeState.SUBMITTED)
        .select_related("requester")
        .prefetch_related("departments")
        .order_by("submitted_at", "pk")
    )


def implementer_queue(actor: Actor) -> list[ChangeRequest]:
    states = [
        ChangeState.APPROVED,
        ChangeState.IMPLEMENTING,
        ChangeState.IMPLEMENTED,
        ChangeState.FAILED,
    ]
    return list(
        with_route(
            ChangeRequest.objects.filter(implementer_id=actor.id, state__in=states)
        ).order_by("planned_start", "pk")
    )


def policies_for_guide() -> list[Policy]:
    steps = (
        PolicyStep.objects.select_related("escalation_group")
        .prefetch_related("groups__user_set")
        .order_by("order")
    )
    return list(
        Policy.objects.filter(is_active=True)
        .prefetch_related(Prefetch("steps", queryset=steps))
        .order_by("change_type", "min_level", "priority")
    )


def delegations_of(user_id: int) -> dict:
    qs = Delegation.objects.select_related("delegator", "delegate").order_by("-starts_at")
    return {
        "given": list(qs.filter(delegator_id=user_id)),
        "received": list(qs.filter(delegate_id=user_id)),
    }


def audit_events(
    *,
    change: str = "",
    actor: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.order_by("-seq")
    if change:
        digits = change.upper().removeprefix("CHG-").lstrip("0") or "0"
        valid = digits.isdigit() and len(digits) <= 12
        qs = qs.filter(change_id=int(digits)) if valid else qs.none()
    if actor:
        qs = qs.filter(actor_name=actor)
    if action:
        qs = qs.filter(action=action)
    if since:
        qs = qs.filter(occurred_at__gte=since)
    if until:
        qs = qs.filter(occurred_at__lt=until)
    return qs


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
