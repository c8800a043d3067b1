"""Where changes wait and how they end: numbers for the metrics page.

Pure functions over plain values, fed by a small, fixed number of queries.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from approvals.choices import ChangeState, Outcome, StepKind, StepStatus
from approvals.models import ApprovalStep, ChangeRequest


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (fraction 0…1) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class WaitStats:
    kind: str
    label: str
    decided: int
    median_hours: float | None
    p90_hours: float | None
    overdue_open: int
    decided_late: int


def wait_stats(
    waits: Iterable[tuple[str, datetime, datetime, datetime | None]],
    open_overdue: dict[str, int],
) -> list[WaitStats]:
    """Per step kind: median and 90th percentile of opened→decided hours, overdue counts.

    `waits` holds (kind, opened_at, decided_at, due_at) of decided steps.
    """
    hours: dict[str, list[float]] = defaultdict(list)
    late: dict[str, int] = defaultdict(int)
    for kind, opened, decided, due in waits:
        hours[kind].append((decided - opened).total_seconds() / 3600)
        if due is not None and decided > due:
            late[kind] += 1
    return [
        WaitStats(
            kind=kind,
            label=str(label),
            decided=len(hours[kind]),
            median_hours=percentile(hours[kind], 0.5),
            p90_hours=percentile(hours[kind], 0.9),
            overdue_open=open_overdue.get(kind, 0),
            decided_late=late[kind],
        )
        for kind, label in StepKind.choices
    ]


@dataclass(frozen=True)
class Outcomes:
    decided: int
    approved: int
    rejected: int
    completed: int
    succeeded: int

    @property
    def approval_rate(self) -> float | None:
        return rate(self.approved, self.decided)

    @property
    def rejection_rate(self) -> float | None:
        return rate(self.rejected, self.decided)

    @property
    def success_rate(self) -> float | None:
        return rate(self.succeeded, self.completed)


def step_waits(now: datetime | None = None) -> list[WaitStats]:
    """Two queries: decided steps' times, and open overdue steps per kind."""
    now = now or timezone.now()
    rows = ApprovalStep.objects.filter(
        opened_at__isnull=False, decided_at__isnull=False
    ).values_list("kind", "opened_at", "decided_at", "due_at")
    waits = [
        (kind, opened, decided, due) for kind, opened, decided, due in rows if opened and decided
    ]
    overdue = dict(
        ApprovalStep.objects.filter(status=StepStatus.PENDING, due_at__lt=now)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    return wait_stats(waits, overdue)


def change_outcomes() -> Outcomes:
    """One query: how decided changes ended and how implemented ones went."""
    counts = ChangeRequest.objects.aggregate(
        approved=Count("pk", filter=Q(approved_at__isnull=False)),
        rejected=Count("pk", filter=Q(state=ChangeState.REJECTED)),
        completed=Count("pk", filter=~Q(outcome="")),
        succeeded=Count("pk", filter=Q(outcome=Outcome.SUCCESS)),
    )
    return Outcomes(
        decided=counts["approved"] + counts["rejected"],
        approved=counts["approved"],
        rejected=counts["rejected"],
        completed=counts["completed"],
        succeeded=counts["succeeded"],
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float


def bar_chart(
    rows: Iterable[tuple[str, float | None, str]], *, width: int = 300, row_height: int = 28
) -> tuple[list[Bar], int]:
    """Geometry for a horizontal SVG bar chart: bars scaled to the largest value, and the height."""
    items = [(label, value or 0.0, text) for label, value, text in rows]
    top = max((value for _l, value, _t in items), default=0.0) or 1.0
    bars = [
        Bar(label, value, text, y=i * row_height, width=round(width * value / top, 1))
        for i, (label, value, text) in enumerate(items)
    ]
    return bars, max(len(bars), 1) * row_height
