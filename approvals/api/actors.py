"""The acting user and the blackout windows, each loaded in one query per request.

`selectors.load_actor` takes three queries; lists pay for the actor once per request and must stay
within a fixed query budget, so this builds the same `Actor` with one UNION query (a test pins
that both agree for every demo user and for a delegate).
"""

from collections.abc import Iterator
from datetime import datetime

from django.contrib.auth.models import Group, User
from django.db.models import CharField, IntegerField, QuerySet, Value
from django.utils import timezone

from approvals.models import BlackoutWindow, Delegation, Profile
from approvals.policy import Actor

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


def request_actor(user: User, *, now: datetime | None = None) -> Actor:
    """Same `Actor` as `selectors.load_actor`, in a single query."""
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


def current_windows(at: datetime | None = None) -> list[Window]:
    """Blackout windows not yet over, in the shape `actions_for(windows=...)` takes; one query
    (a join) instead of a prefetch."""
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
    """`current_windows()` loaded on first use and then kept: a page without approved changes
    never needs the blackout windows, and a page with many loads them once."""

    def __init__(self) -> None:
        self._windows: list[Window] | None = None

    def __iter__(self) -> Iterator[Window]:
        if self._windows is None:
            self._windows = current_windows()
        return iter(self._windows)
