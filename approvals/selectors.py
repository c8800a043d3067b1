"""Reads shared by pages and endpoints, with their query counts kept constant."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
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


def load_actor(user: User, *, now: datetime | None = None) -> Actor:
    """The acting user with roles, delegated seats and department (three small queries)."""
    now = now or timezone.now()
    roles = frozenset(user.groups.values_list("name", flat=True))
    delegators = frozenset(
        Delegation.objects.filter(delegate=user, starts_at__lte=now, ends_at__gt=now).values_list(
            "delegator_id", flat=True
        )
    )
    department_id = (
        Profile.objects.filter(user=user).values_list("department_id", flat=True).first()
    )
    return Actor(
        id=user.pk,
        username=user.get_username(),
        roles=roles,
        delegator_ids=delegators,
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


def open_step_of(change: ChangeRequest) -> OpenStep | None:
    for step in route_of(change):
        if step.status == StepStatus.PENDING:
            return OpenStep(
                step=step,
                seats={seat.user_id: seat.source for seat in step.seats.all()},
                decided={d.seat_id: d.decision for d in step.decisions.all()},
            )
    return None


def retrospective_approved(change: ChangeRequest) -> bool:
    return any(
        s.kind == StepKind.RETROSPECTIVE and s.status == StepStatus.APPROVED
        for s in route_of(change)
    )


def blackout_windows(
    at: datetime | None = None,
) -> list[tuple[str, datetime, datetime, frozenset[int]]]:
    at = at or timezone.now()
    windows = BlackoutWindow.objects.filter(ends_at__gt=at).prefetch_related("departments")
    return [
        (w.name, w.starts_at, w.ends_at, frozenset(d.pk for d in w.departments.all()))
        for w in windows
    ]


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
