"""Reads shared by pages and endpoints, with their query counts kept constant."""

import functools
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from approvals.choices import (
    APPROVAL_STATES,
    TERMINAL_STATES,
    ChangeState,
    StepKind,
    StepStatus,
)
from approvals.localization import Bilingual
from approvals.models import (
    ApprovalStep,
    BlackoutWindow,
    ChangeRequest,
    Decision,
    Delegation,
    Department,
    Profile,
    StepApprover,
)
from approvals.policy import (
    APPROVAL_KINDS,
    REVIEW_STATES,
    SCHEDULED_STATES,
    VIEW_ALL_ROLES,
    Actor,
    OpenStep,
    RoundDecision,
    allowed_actions,
    blackouts_in_force,
    change_warnings,
)

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
    """Need to know (`policy.can_view` in SQL): a draft never submitted is its requester's
    alone; a submitted change is seen by its requester and implementer, the overseeing roles,
    everyone named on its route in any round and their active delegates, and whoever decided it."""
    qs = ChangeRequest.objects.all()
    mine = Q(requester_id=actor.id)
    private = Q(state=ChangeState.DRAFT, round=0)
    if actor.roles & VIEW_ALL_ROLES:
        return qs.filter(mine | ~private)
    seat = StepApprover.objects.filter(
        step__change=OuterRef("pk"), user_id__in=[actor.id, *actor.delegator_ids]
    )
    decided = Decision.objects.filter(step__change=OuterRef("pk"), approver_id=actor.id)
    involved = Q(implementer_id=actor.id) | Exists(seat) | Exists(decided)
    return qs.filter(mine | (~private & involved))


def _current_steps() -> Prefetch:
    steps = (
        ApprovalStep.objects.select_related("escalation_group")
        .prefetch_related(
            Prefetch(
                "seats",
                queryset=StepApprover.objects.select_related("user").order_by("user__username"),
                to_attr="seat_list",
            ),
            Prefetch(
                "decisions",
                queryset=Decision.objects.select_related("approver", "on_behalf_of", "seat"),
                to_attr="decision_list",
            ),
        )
        .order_by("round", "order")
    )
    return Prefetch("steps", queryset=steps, to_attr="all_steps")


# Prefetched into plain lists (`to_attr`): Django then sets one attribute per row instead of
# building a related manager and a filtered queryset for each, which cost a list page a quarter
# of its time. Rows loaded another way fall back to the relation.


def seats_of(step: ApprovalStep) -> list[StepApprover]:
    cached = getattr(step, "seat_list", None)
    return cached if cached is not None else list(step.seats.all())


def decisions_of(step: ApprovalStep) -> list[Decision]:
    cached = getattr(step, "decision_list", None)
    return cached if cached is not None else list(step.decisions.all())


def departments_of(change: ChangeRequest) -> list[Department]:
    cached = getattr(change, "department_list", None)
    return cached if cached is not None else list(change.departments.all())


def with_route(qs: QuerySet[ChangeRequest]) -> QuerySet[ChangeRequest]:
    """Change rows with everything the route, allowed actions, warnings and lists need (fixed
    queries)."""
    return (
        qs.select_related("requester", "implementer", "template")
        .prefetch_related(Prefetch("departments", to_attr="department_list"), _current_steps())
        .annotate(conflict_with=_first_conflict())
    )


@functools.cache
def _first_conflict(path: str = "") -> Case:
    """Another scheduled change on one of the same departments whose window overlaps (`path`
    leads from the outer row to its change, e.g. "change__"). Only a change that is itself
    scheduled is looked at, and the candidates come from the partial index of scheduled
    windows, so a page pays for the few open changes around it, not for the whole history.

    Built once per path: annotating resolves a copy, and building the nested subqueries cost
    every list request several milliseconds."""
    through = ChangeRequest.departments.through
    own = through.objects.filter(changerequest_id=OuterRef(OuterRef(OuterRef(f"{path}pk"))))
    shares = through.objects.filter(
        changerequest_id=OuterRef("pk"), department_id__in=own.values("department_id")
    )
    others = (
        ChangeRequest.objects.filter(
            state__in=SCHEDULED_STATES,
            planned_start__lt=OuterRef(f"{path}planned_end"),
            planned_end__gt=OuterRef(f"{path}planned_start"),
        )
        .filter(Exists(shares))
        .exclude(pk=OuterRef(f"{path}pk"))
        .order_by("planned_start", "pk")
        .values("pk")[:1]
    )
    return Case(
        When(
            **{f"{path}state__in": SCHEDULED_STATES},
            then=Subquery(others, output_field=IntegerField()),
        ),
        default=None,
        output_field=IntegerField(),
    )


def route_of(change: ChangeRequest) -> list[ApprovalStep]:
    """Steps of the change's current round (needs `with_route`)."""
    return [s for s in getattr(change, "all_steps", []) if s.round == change.round]


def round_decisions_of(change: ChangeRequest) -> tuple[RoundDecision, ...]:
    """Live decisions of the current round (needs `with_route`)."""
    return tuple(
        RoundDecision(step.pk, step.kind, d.approver_id, d.seat_id, d.decision)
        for step in route_of(change)
        for d in decisions_of(step)
        if not d.voided
    )


def as_open_step(
    step: ApprovalStep, round_decisions: tuple[RoundDecision, ...] | None = None
) -> OpenStep:
    """The rules' view of a step loaded with its seats and decisions prefetched."""
    live = [d for d in decisions_of(step) if not d.voided]
    if round_decisions is None:
        round_decisions = tuple(
            RoundDecision(step.pk, step.kind, d.approver_id, d.seat_id, d.decision) for d in live
        )
    return OpenStep(
        step=step,
        seats={seat.user_id: seat.source for seat in seats_of(step)},
        decided={d.seat_id: d.decision for d in live},
        round_decisions=round_decisions,
    )


def open_step_of(change: ChangeRequest) -> OpenStep | None:
    for step in route_of(change):
        if step.status == StepStatus.PENDING:
            return as_open_step(step, round_decisions_of(change))
    return None


def review_statuses(change: ChangeRequest) -> list[str]:
    """Statuses of the current round's review steps (needs `with_route`)."""
    return [s.status for s in route_of(change) if s.kind == StepKind.RETROSPECTIVE]


def blackout_windows(at: datetime | None = None) -> list[Window]:
    """Blackout windows not yet over, in the shape `actions_for(windows=...)` takes; one query."""
    rows = BlackoutWindow.objects.filter(ends_at__gt=at or timezone.now()).values_list(
        "pk", "name", "name_zh", "starts_at", "ends_at", "departments__id"
    )
    windows: dict[int, tuple[str, datetime, datetime, set[int]]] = {}
    for pk, name, name_zh, starts, ends, department_id in rows.order_by("starts_at", "pk"):
        entry = windows.setdefault(pk, (Bilingual(name, name_zh), starts, ends, set()))
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
    now = timezone.now()
    if change.state == ChangeState.APPROVED:
        if windows is None:
            windows = blackout_windows()
        blackout_names = blackouts_in_force(windows, [d.pk for d in departments_of(change)], now)
    return allowed_actions(
        actor,
        change,
        open_step_of(change),
        review_statuses=review_statuses(change),
        blackout_names=blackout_names,
        now=now,
    )


def warnings_for(change: ChangeRequest, *, windows: Iterable | None = None) -> list[dict]:
    """What an approver must know before deciding (a change loaded `with_route`); blackout
    windows are loaded only when the change has a window to check."""
    if change.state in TERMINAL_STATES:
        return []
    scheduled = change.planned_start is not None and change.planned_end is not None
    if scheduled and windows is None:
        windows = blackout_windows()
    return change_warnings(
        change,
        windows=windows if scheduled and windows is not None else (),
        department_ids=[d.pk for d in departments_of(change)],
        conflict_with=getattr(change, "conflict_with", None),
        route=route_of(change),
        now=timezone.now(),
    )


def _open_steps_seating(actor: Actor) -> QuerySet[StepApprover, Any]:
    """Ids of the open steps with a seat of the actor's or lent to them. Implied by
    `_may_decide_now`, and stated on its own so that the database starts from those few steps
    instead of testing the exclusions on every open step of every change (ten times faster
    with thousands of open steps)."""
    return StepApprover.objects.filter(
        user_id__in=[actor.id, *actor.delegator_ids], step__status=StepStatus.PENDING
    ).values("step_id")


def _may_decide_now(actor: Actor) -> Q:
    """The SQL form of `policy.exclusions` and `policy.decision_seat`: an open step of the
    change's round with an undecided seat of the actor's own or lent to them, and none of the
    exclusions (requester; implementer on final and review steps; a seat of this step already
    filled by the actor; another approval step of the round already decided by the actor)."""
    live = Decision.objects.filter(voided=False)
    undecided_seat = StepApprover.objects.filter(
        step=OuterRef("pk"), user_id__in=[actor.id, *actor.delegator_ids]
    ).exclude(user_id__in=live.filter(step=OuterRef(OuterRef("pk"))).values("seat_id"))
    # On an approval step, a seat whose holder decided another approval step of the round
    # (acting, or on whose behalf someone acted) cannot be filled, not even by a delegate.
    other_steps = live.filter(
        step__change=OuterRef(OuterRef("change_id")),
        step__round=OuterRef(OuterRef("round")),
        step__kind__in=APPROVAL_KINDS,
    ).exclude(step=OuterRef(OuterRef("pk")))
    eligible_seat = undecided_seat.exclude(user_id__in=other_steps.values("seat_id")).exclude(
        user_id__in=other_steps.values("approver_id")
    )
    decided_here = live.filter(step=OuterRef("pk"), approver_id=actor.id)
    decided_other = live.filter(
        Q(approver_id=actor.id) | Q(seat_id=actor.id),
        step__change=OuterRef("change_id"),
        step__round=OuterRef("round"),
        step__kind__in=APPROVAL_KINDS,
    ).exclude(step=OuterRef("pk"))
    return (
        Q(pk__in=_open_steps_seating(actor))
        & Q(status=StepStatus.PENDING, round=F("change__round"))
        & (
            Q(kind__in=APPROVAL_KINDS, change__state__in=APPROVAL_STATES)
            | Q(kind=StepKind.RETROSPECTIVE, change__state__in=REVIEW_STATES)
        )
        & (
            Q(Exists(eligible_seat), kind__in=APPROVAL_KINDS)
            | Q(Exists(undecided_seat), kind=StepKind.RETROSPECTIVE)
        )
        & ~Q(Exists(decided_here))
        & ~Q(change__requester_id=actor.id)
        & ~Q(kind__in=[StepKind.FINAL, StepKind.RETROSPECTIVE], change__implementer_id=actor.id)
        & ~Q(Exists(decided_other), kind__in=APPROVAL_KINDS)
    )


def _inbox_rows(steps: QuerySet[ApprovalStep]) -> QuerySet[ApprovalStep]:
    return (
        steps.annotate(change_conflict=_first_conflict("change__"))
        .select_related("change", "change__requester")
        .prefetch_related("change__departments")
        .order_by("due_at", "pk")
    )


def inbox(actor: Actor) -> QuerySet[ApprovalStep]:
    """Open steps the actor may decide now (directly or as delegate), oldest due first."""
    if actor.is_auditor:
        return ApprovalStep.objects.none()
    return _inbox_rows(ApprovalStep.objects.filter(_may_decide_now(actor)))


UNSTAFFED = Q(status=StepStatus.PENDING, no_eligible_at__isnull=False)


def inbox_with_unstaffed(actor: Actor) -> QuerySet[ApprovalStep]:
    """The inbox and, in the same query, the open steps nobody may decide (a change manager's
    page lists both): each step says whether it is `in_inbox`, `unstaffed` or both."""
    mine = Value(False) if actor.is_auditor else _may_decide_now(actor)
    # The candidates first, as in `_may_decide_now`, so the OR is tested on those rows only.
    unstaffed_ids = ApprovalStep.objects.filter(UNSTAFFED).order_by().values("pk")
    candidates = _open_steps_seating(actor).union(unstaffed_ids)
    wanted = UNSTAFFED if actor.is_auditor else Q(pk__in=candidates) & (mine | UNSTAFFED)
    return _inbox_rows(
        ApprovalStep.objects.filter(wanted).annotate(
            in_inbox=ExpressionWrapper(mine, output_field=BooleanField()),
            unstaffed=ExpressionWrapper(UNSTAFFED, output_field=BooleanField()),
        )
    )


def inbox_counts(actor: Actor, *, now: datetime | None = None) -> dict[str, int]:
    """How many steps wait for the actor, and how many of them are overdue, in one query."""
    now = now or timezone.now()
    return inbox(actor).aggregate(
        count=Count("pk"), overdue_count=Count("pk", filter=Q(due_at__lt=now))
    )
