"""Reads shared by pages and endpoints, with their query counts kept constant."""

from collections.abc import Iterable, Iterator
from datetime import datetime

from django.contrib.auth.models import Group, User
from django.db.models import (
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.utils import timezone

from approvals.choices import ChangeState, StepKind, StepStatus
from approvals.models import (
    ApprovalStep,
    BlackoutWindow,
    ChangeRequest,
    Decision,
    Delegation,
    Profile,
    StepApprover,
)
from approvals.policy import VIEW_ALL_ROLES, Actor, OpenStep, allowed_actions, blackouts_in_force

Window = tuple[str, datetime, datetime, frozenset[int]]


def _rows(user: User, now: datetime) -> QuerySet:
    no_text = Value("", output_field=CharField())
    no_id = Value(None, output_field=IntegerField())
    roles = (
        Group.objects.filter(user=user)
        .annotate(kind=Value("role", output_field=CharField()), ref=no_id)
        .values_list("kind", "name", "ref")
        .order_by()
    )
    delegators = (
        Delegation.objects.filter(delegate=user, starts_at__lte=now, ends_at__gt=now)
        .annotate(kind=Value("delegator", output_field=CharField()), text=no_text)
        .values_list("kind", "text", "delegator_id")
        .order_by()
    )
    department = (
        Profile.objects.filter(user=user)
        .annotate(kind=Value("department", output_field=CharField()), text=no_text)
        .values_list("kind", "text", "department_id")
        .order_by()
    )
    return roles.union(delegators, department, all=True)


def load_actor(user: User, *, now: datetime | None = None) -> Actor:
    """The acting user with roles, delegated seats and department, in one query (a UNION), so
    every list and action pays for the actor once."""
    roles: set[str] = set()
    delegators: set[int] = set()
    department_id = None
    for kind, text, ref in _rows(user, now or timezone.now()):
        if kind == "role":
            roles.add(text)
        elif kind == "delegator":
            delegators.add(ref)
        else:
            department_id = ref
    return Actor(
        id=user.pk,
        username=user.get_username(),
        roles=frozenset(roles),
        delegator_ids=frozenset(delegators),
        department_id=department_id,
    )


def visible_changes(actor: Actor) -> QuerySet[ChangeRequest]:
    qs = ChangeRequest.objects.all()
    if actor.roles & VIEW_ALL_ROLES:
        return qs
    seat_of_delegator = StepApprover.objects.filter(
        step__change=OuterRef("pk"), user_id__in=list(actor.delegator_ids)
    )
    return qs.filter(
        Q(requester_id=actor.id) | Q(implementer_id=actor.id) | Exists(seat_of_delegator)
    )


def _current_steps() -> Prefetch:
    steps = (
        ApprovalStep.objects.select_related("escalation_group")
        .prefetch_related(
            Prefetch(
                "seats",
                queryset=StepApprover.objects.select_related("user").order_by("user__username"),
            ),
            Prefetch(
                "decisions",
                queryset=Decision.objects.select_related("approver", "on_behalf_of", "seat"),
            ),
        )
        .order_by("round", "order")
    )
    return Prefetch("steps", queryset=steps, to_attr="all_steps")


def with_route(qs: QuerySet[ChangeRequest]) -> QuerySet[ChangeRequest]:
    """Change rows with everything the route, allowed actions and lists need (fixed queries)."""
    return qs.select_related("requester", "implementer", "template").prefetch_related(
        "departments", _current_steps()
    )


def route_of(change: ChangeRequest) -> list[ApprovalStep]:
    """Steps of the change's current round (needs `with_route`)."""
    return [s for s in getattr(change, "all_steps", []) if s.round == change.round]


def as_open_step(step: ApprovalStep) -> OpenStep:
    """The rules' view of a step loaded with its seats and decisions prefetched."""
    return OpenStep(
        step=step,
        seats={seat.user_id: seat.source for seat in step.seats.all()},
        decided={d.seat_id: d.decision for d in step.decisions.all()},
    )


def open_step_of(change: ChangeRequest) -> OpenStep | None:
    for step in route_of(change):
        if step.status == StepStatus.PENDING:
            return as_open_step(step)
    return None


def retrospective_approved(change: ChangeRequest) -> bool:
    return any(
        s.kind == StepKind.RETROSPECTIVE and s.status == StepStatus.APPROVED
        for s in route_of(change)
    )


def blackout_windows(at: datetime | None = None) -> list[Window]:
    """Blackout windows not yet over, in the shape `actions_for(windows=...)` takes; one query."""
    rows = BlackoutWindow.objects.filter(ends_at__gt=at or timezone.now()).values_list(
        "pk", "name", "starts_at", "ends_at", "departments__id"
    )
    windows: dict[int, tuple[str, datetime, datetime, set[int]]] = {}
    for pk, name, starts, ends, department_id in rows.order_by("starts_at", "pk"):
        entry = windows.setdefault(pk, (name, starts, ends, set()))
        if department_id is not None:
            entry[3].add(department_id)
    return [(name, s, e, frozenset(d)) for name, s, e, d in windows.values()]


class LazyWindows:
    """`blackout_windows()` loaded on first use and then kept: a page without approved changes
    never needs the blackout windows, and a page with many loads them once."""

    def __init__(self) -> None:
        self._windows: list[Window] | None = None

    def __iter__(self) -> Iterator[Window]:
        if self._windows is None:
            self._windows = blackout_windows()
        return iter(self._windows)


def actions_for(
    actor: Actor, change: ChangeRequest, *, windows: Iterable | None = None
) -> list[str]:
    """`allowed_actions` for a change loaded `with_route`; pass `windows` to share one load."""
    blackout_names: list[str] = []
    if change.state == ChangeState.APPROVED:
        if windows is None:
            windows = blackout_windows()
        blackout_names = blackouts_in_force(
            windows, [d.pk for d in change.departments.all()], timezone.now()
        )
    return allowed_actions(
        actor,
        change,
        open_step_of(change),
        retrospective_approved=retrospective_approved(change),
        blackout_names=blackout_names,
    )


def inbox(actor: Actor) -> QuerySet[ApprovalStep]:
    """Open steps the actor may decide now (directly or as delegate), oldest due first."""
    seat_users = [actor.id, *actor.delegator_ids]
    undecided_seat = StepApprover.objects.filter(
        step=OuterRef("pk"), user_id__in=seat_users
    ).exclude(user_id__in=Decision.objects.filter(step=OuterRef(OuterRef("pk"))).values("seat_id"))
    qs = (
        ApprovalStep.objects.filter(status=StepStatus.PENDING)
        .filter(Exists(undecided_seat))
        .exclude(change__requester_id=actor.id)
        .exclude(kind=StepKind.FINAL, change__implementer_id=actor.id)
        .select_related("change", "change__requester")
        .prefetch_related("change__departments")
        .order_by("due_at", "pk")
    )
    if actor.is_auditor:
        return qs.none()
    return qs


def inbox_counts(actor: Actor, *, now: datetime | None = None) -> dict[str, int]:
    """How many steps wait for the actor, and how many of them are overdue, in one query."""
    now = now or timezone.now()
    return inbox(actor).aggregate(
        count=Count("pk"), overdue_count=Count("pk", filter=Q(due_at__lt=now))
    )
