"""Page-specific reads. Lists keep a constant number of queries whatever their length."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime

from approvals.choices import LEVELS, OPEN_STATES, ChangeState, StepKind, StepStatus
from approvals.models import (
    ApprovalStep,
    AuditEvent,
    BlackoutWindow,
    ChangeRequest,
    Decision,
    Delegation,
    Department,
    Policy,
    PolicyStep,
    SavedFilter,
    StepApprover,
)
from approvals.policy import Actor, OpenStep, RoundDecision, change_key
from approvals.selectors import (
    inbox,
    inbox_counts,
    inbox_with_unstaffed,
    visible_changes,
    with_route,
)

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


@dataclass(frozen=True)
class ChangeListFilters:
    """What the change list may be narrowed and sorted by (values already validated)."""

    state: str = ""
    search: str = ""
    change_type: str = ""
    impact: str = ""
    risk: str = ""
    department: str = ""
    requester: str = ""
    implementer: str = ""
    planned_from: datetime | None = None
    planned_until: datetime | None = None
    waiting_on_me: bool = False
    sort: str = "-updated"


def _level(field: str) -> Case:
    """Impact and risk ordered by severity, not alphabetically."""
    whens = [When(**{field: name}, then=Value(rank)) for name, rank in LEVELS.items()]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def _current_step_name() -> Subquery:
    steps = ApprovalStep.objects.filter(
        change=OuterRef("pk"), round=OuterRef("round"), status=StepStatus.PENDING
    ).order_by("order")
    return Subquery(steps.values("name")[:1], output_field=CharField())


SORTS = {
    "key": ("pk",),
    "title": ("title", "pk"),
    "state": ("state", "pk"),
    "step": ("current_step", "pk"),
    "risk": ("risk_rank", "pk"),
    "impact": ("impact_rank", "pk"),
    "start": ("planned_start", "pk"),
    "requester": ("requester__username", "pk"),
    "updated": ("updated_at", "pk"),
}


def _ordering(sort: str) -> list[Any]:
    name = sort.removeprefix("-")
    fields = SORTS.get(name, SORTS["updated"])
    if name == "start":  # changes without a window go last whichever way
        first = F("planned_start")
        head = first.desc(nulls_last=True) if sort.startswith("-") else first.asc(nulls_last=True)
        return [head, "-pk" if sort.startswith("-") else "pk"]
    return [f"-{f}" if sort.startswith("-") else f for f in fields]


def change_list(actor: Actor, filters: ChangeListFilters) -> QuerySet[ChangeRequest]:
    """The changes `actor` may see, narrowed by `filters`, with their current step's name (one
    query for the rows, one for their departments)."""
    qs = visible_changes(actor)
    f = filters
    exact = {
        "state": f.state,
        "change_type": f.change_type,
        "impact": f.impact,
        "risk": f.risk,
        "requester__username": f.requester,
        "implementer__username": f.implementer,
    }
    qs = qs.filter(**{name: value for name, value in exact.items() if value})
    if f.department:
        qs = qs.filter(departments__code=f.department).distinct()
    if f.search:
        qs = qs.filter(Q(title__icontains=f.search) | Q(description__icontains=f.search))
    if f.planned_from:  # windows overlapping the chosen period
        qs = qs.filter(planned_end__gt=f.planned_from)
    if f.planned_until:
        qs = qs.filter(planned_start__lt=f.planned_until)
    if f.waiting_on_me:
        qs = qs.filter(pk__in=inbox(actor).values("change_id"))
    return (
        qs.select_related("requester")
        .annotate(
            current_step=_current_step_name(),
            risk_rank=_level("risk"),
            impact_rank=_level("impact"),
        )
        .order_by(*_ordering(f.sort))
    )


@dataclass(frozen=True)
class ListChoices:
    """What the change list's filter bar offers: department codes and the viewer's saved
    filters (loaded together in one query)."""

    departments: list[str]
    saved_filters: list[SavedFilter]


def list_choices(actor: Actor) -> ListChoices:
    kind = Value("department", output_field=CharField())
    departments = Department.objects.annotate(
        kind=kind, text=Value("", output_field=CharField())
    ).values_list("kind", "pk", "code", "text")
    saved = (
        SavedFilter.objects.filter(user_id=actor.id)
        .annotate(kind=Value("saved", output_field=CharField()))
        .values_list("kind", "pk", "name", "query")
    )
    codes: list[str] = []
    filters: list[SavedFilter] = []
    for row_kind, pk, name, query in departments.order_by().union(saved.order_by(), all=True):
        if row_kind == "department":
            codes.append(name)
        else:
            filters.append(SavedFilter(pk=pk, user_id=actor.id, name=name, query=query))
    return ListChoices(sorted(codes), sorted(filters, key=lambda f: (f.name, f.pk)))


def change_for_page(actor: Actor, change_id: int) -> ChangeRequest | None:
    qs = with_route(visible_changes(actor)).prefetch_related(
        Prefetch("attachments__uploaded_by"), Prefetch("comments__author")
    )
    return qs.filter(pk=change_id).first()


def timeline(change: ChangeRequest) -> list[AuditEvent]:
    return list(change.audit_events.order_by("seq"))


def _readable(name: str, value: Any) -> str:
    """An edited field's recorded value as a reader expects it (choice labels, local times)."""
    if value in (None, ""):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    try:
        field: Any = ChangeRequest._meta.get_field(name)
    except FieldDoesNotExist:
        return str(value)
    if getattr(field, "choices", None):
        return str(dict(field.choices).get(value, value))
    if isinstance(field, DateTimeField) and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")
    return str(value)


def _field_label(name: str) -> str:
    try:
        field: Any = ChangeRequest._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))


def edits_since_information_request(events: list[AuditEvent]) -> list[dict[str, str]]:
    """What the requester changed after the last request for information, field by field: the
    value the earlier round saw and the value now (from the `edited` events' old and new)."""
    asked = max((i for i, e in enumerate(events) if e.action == "info_requested"), default=None)
    if asked is None:
        return []
    fields: dict[str, dict[str, Any]] = {}
    for event in events[asked + 1 :]:
        if event.action != "edited":
            continue
        for name, diff in ((event.data or {}).get("changes") or {}).items():
            entry = fields.setdefault(name, {"old": diff.get("old")})
            entry["new"] = diff.get("new")
    return [
        {
            "field": _field_label(name),
            "old": _readable(name, values["old"]),
            "new": _readable(name, values["new"]),
        }
        for name, values in fields.items()
        if values["old"] != values["new"]
    ]


@dataclass(frozen=True)
class Conflict:
    """`change` collides with `other` or with `blackout`. A scheduled change the viewer may not
    see is never named: `other` stays empty and only its window is told (`hidden_start`,
    `hidden_end`)."""

    change: ChangeRequest
    other: ChangeRequest | None = None
    blackout: BlackoutWindow | None = None
    hidden_start: datetime | None = None
    hidden_end: datetime | None = None

    @property
    def hidden(self) -> bool:
        return self.hidden_start is not None


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def _department_ids(change: ChangeRequest) -> set[int]:
    return {d.pk for d in change.departments.all()}


def _blackout_applies(window: BlackoutWindow, departments: set[int]) -> bool:
    window_departments = {d.pk for d in window.departments.all()}
    return not window_departments or bool(window_departments & departments)


def find_conflicts(
    changes: list[ChangeRequest],
    windows: list[BlackoutWindow],
    *,
    others: list | None = None,
    visible: set[int] | None = None,
) -> list[Conflict]:
    """Overlapping windows of changes sharing a department, and changes inside blackout windows.

    Pure: works on loaded rows (departments prefetched). `others` defaults to `changes`. When
    `visible` is given, an overlapping change outside it is told by its window only.
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
                if visible is None or other.pk in visible:
                    found.append(Conflict(change=change, other=other))
                else:
                    found.append(
                        Conflict(
                            change=change,
                            hidden_start=other.planned_start,
                            hidden_end=other.planned_end,
                        )
                    )
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


def scheduled_changes(
    start: datetime, end: datetime, *, actor: Actor | None = None
) -> list[ChangeRequest]:
    """Approved and implementing changes whose window overlaps the period; only those `actor`
    may see when an actor is given."""
    qs = visible_changes(actor) if actor is not None else ChangeRequest.objects.all()
    return list(
        qs.filter(state__in=SCHEDULED_STATES, planned_start__lt=end, planned_end__gt=start)
        .select_related("requester", "implementer")
        .prefetch_related("departments")
        .order_by("planned_start", "pk")
    )


def _visible_ids(actor: Actor, changes: list[ChangeRequest]) -> set[int]:
    ids = [c.pk for c in changes]
    return set(visible_changes(actor).filter(pk__in=ids).values_list("pk", flat=True))


def conflicts_for_change(change: ChangeRequest, *, actor: Actor) -> list[Conflict]:
    """What the change's planned window collides with (scheduled changes, blackout windows); a
    scheduled change `actor` may not see is told by its window only."""
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
    return find_conflicts(
        [change],
        blackouts_between(start, end),
        others=others,
        visible=_visible_ids(actor, others),
    )


def calendar_data(actor: Actor, start: datetime | None = None, days: int = 42) -> dict:
    """The period's scheduled changes `actor` may see, blackout windows and conflicts; a
    conflict with a change `actor` may not see is told by that change's window only."""
    start = start or timezone.now() - timedelta(days=7)
    end = start + timedelta(days=days)
    every = scheduled_changes(start, end)
    visible = _visible_ids(actor, every)
    changes = [c for c in every if c.pk in visible]
    windows = blackouts_between(start, end)
    return {
        "start": start,
        "end": end,
        "changes": changes,
        "windows": windows,
        "conflicts": find_conflicts(changes, windows, others=every, visible=visible),
    }


@dataclass(frozen=True)
class InboxPage:
    """The steps the actor may decide now, oldest due first, and (for a change manager) the open
    steps nobody may decide, longest flagged first."""

    rows: list[ApprovalStep]
    unstaffed: list[ApprovalStep]
    # The whole inbox's size and how much of it is overdue, whatever the page: counted over all
    # the matching rows in the page's own query. None when the page is past the end.
    total: int | None = None
    overdue: int | None = None


def inbox_page(
    actor: Actor, *, with_unstaffed: bool = False, offset: int = 0, limit: int | None = None
) -> InboxPage:
    """The inbox with each step's seats, each carrying its live decision (if any) and who made
    it, so rows can say "on behalf of" and "1 of 2 heads" (fixed queries: the steps, their
    seats, their departments). The steps nobody may decide come in the same query as the
    inbox's steps, so a change manager's page costs no more than anyone's."""
    live = Decision.objects.filter(
        step_id=OuterRef("step_id"), seat_id=OuterRef("user_id"), voided=False
    ).order_by("-pk")
    seats = StepApprover.objects.select_related("user").annotate(
        live_decision=Subquery(live.values("decision")[:1], output_field=CharField()),
        decided_by=Subquery(live.values("approver_id")[:1], output_field=IntegerField()),
    )
    end = None if limit is None else offset + limit
    overdue = Q(due_at__lt=timezone.now())
    if not with_unstaffed:
        mine: list[Any] = list(
            inbox(actor)
            .prefetch_related(Prefetch("seats", queryset=seats))
            .annotate(total=Window(Count("pk")), overdue=Window(Count("pk", filter=overdue)))[
                offset:end
            ]
        )
        return InboxPage(mine, [], *_totals(mine))
    steps: list[Any] = list(
        inbox_with_unstaffed(actor)
        .prefetch_related(Prefetch("seats", queryset=seats))
        .annotate(
            total=Window(Count("pk", filter=Q(in_inbox=True))),
            overdue=Window(Count("pk", filter=Q(in_inbox=True) & overdue)),
        )[offset:end]
    )
    unstaffed = sorted((s for s in steps if s.unstaffed), key=lambda s: (s.no_eligible_at, s.pk))
    return InboxPage([s for s in steps if s.in_inbox], unstaffed, *_totals(steps))


def _totals(steps: list[Any]) -> tuple[int | None, int | None]:
    return (steps[0].total, steps[0].overdue) if steps else (None, None)


def inbox_open_step(step: ApprovalStep) -> OpenStep:
    """The rules' view of an inbox step (`inbox_page`): its seats and the decisions filling them."""
    seats: list[Any] = list(step.seats.all())  # annotated by `inbox_page`
    filled = [s for s in seats if s.live_decision]
    return OpenStep(
        step=step,
        seats={seat.user_id: seat.source for seat in seats},
        decided={seat.user_id: seat.live_decision for seat in filled},
        round_decisions=tuple(
            RoundDecision(step.pk, step.kind, seat.decided_by, seat.user_id, seat.live_decision)
            for seat in filled
        ),
    )


@dataclass(frozen=True)
class BulkTarget:
    """A step chosen for a bulk decision; `change_id` is None when the actor cannot see it."""

    step_id: int
    change_id: int | None = None
    is_review: bool = False

    @property
    def key(self) -> str:
        return change_key(self.change_id) if self.change_id else f"#{self.step_id}"


def bulk_targets(actor: Actor, step_ids: list[int]) -> list[BulkTarget]:
    """The chosen steps with their changes, in the order chosen (one query). Steps of changes
    the actor may not see come back without a change, like steps that do not exist."""
    rows = ApprovalStep.objects.filter(
        pk__in=step_ids, change__in=visible_changes(actor)
    ).values_list("pk", "change_id", "kind")
    found = {pk: (change_id, kind) for pk, change_id, kind in rows}
    return [
        BulkTarget(pk, found[pk][0], found[pk][1] == StepKind.RETROSPECTIVE)
        if pk in found
        else BulkTarget(pk)
        for pk in step_ids
    ]


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
