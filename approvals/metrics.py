"""Where changes wait and how they end: numbers for the metrics page, its CSV and the API.

Waiting time is measured from a step's opening to its decision, over the steps opened in a
period. Pure functions over plain values, fed by a small, fixed number of queries whatever the
number of changes.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from approvals.choices import ChangeState, Outcome, StepStatus
from approvals.localization import localized_value
from approvals.models import ApprovalStep, ChangeRequest, Decision, StepApprover

DEFAULT_DAYS = 90
NO_DEPARTMENT = "—"


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
class Period:
    """Whole days from `since` to `until`, both included, in the current time zone."""

    since: date
    until: date

    @property
    def starts_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def ends_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))


def period_of(*, since: date | None, until: date | None, today: date | None = None) -> Period:
    """The period asked for; the last 90 days up to today by default. The caller has checked
    that `since` is not after `until`."""
    until = until or today or timezone.localdate()
    return Period(since=since or until - timedelta(days=DEFAULT_DAYS - 1), until=until)


class Label(str):
    """What a row is named by in the API (a policy's or a step's English name, a department's
    code), carrying the name a reader sees in each language; see `shown`."""

    english: str
    chinese: str

    def __new__(cls, key: str, english: str = "", chinese: str = "") -> "Label":
        label = super().__new__(cls, key)
        label.english = english or key
        label.chinese = chinese or label.english
        return label


def shown(value: str) -> str:
    """A row's name as the reader of the active language sees it (usernames are as they are)."""
    if isinstance(value, Label):
        return localized_value(value.english, value.chinese)
    return value


def _department(code: str | None, name: str | None, name_zh: str | None) -> str:
    if not code:
        return NO_DEPARTMENT
    english = name or code
    return Label(code, f"{english} ({code})", f"{name_zh or english} ({code})")


@dataclass(frozen=True)
class Wait:
    """One step's wait, or one approver's: when it opened, was decided (None: still open), was
    due."""

    opened_at: datetime
    decided_at: datetime | None
    due_at: datetime | None

    def hours(self) -> float | None:
        if self.decided_at is None:
            return None
        return (self.decided_at - self.opened_at).total_seconds() / 3600

    def overdue(self, now: datetime) -> bool:
        return self.decided_at is None and self.due_at is not None and self.due_at < now

    def late(self) -> bool:
        return (
            self.decided_at is not None
            and self.due_at is not None
            and self.decided_at > self.due_at
        )


@dataclass(frozen=True)
class WaitStats:
    """Waiting figures of one group: a named step of a policy, a department or an approver."""

    group: str
    name: str
    decided: int
    median_hours: float | None
    p90_hours: float | None
    overdue_open: int
    decided_late: int


def wait_stats(waits: Iterable[tuple[tuple[str, str], Wait]], *, now: datetime) -> list[WaitStats]:
    """Per (group, name), in the order first met: count decided, median and 90th percentile of
    the hours to decision, open steps past their due time, and decisions made after it."""
    hours: dict[tuple[str, str], list[float]] = {}
    overdue: Counter[tuple[str, str]] = Counter()
    late: Counter[tuple[str, str]] = Counter()
    for key, wait in waits:
        took = wait.hours()
        values = hours.setdefault(key, [])  # a group with nothing decided yet still has its row
        if took is not None:
            values.append(took)
        overdue[key] += wait.overdue(now)
        late[key] += wait.late()
    return [
        WaitStats(
            group=group,
            name=name,
            decided=len(values),
            median_hours=percentile(values, 0.5),
            p90_hours=percentile(values, 0.9),
            overdue_open=overdue[(group, name)],
            decided_late=late[(group, name)],
        )
        for (group, name), values in hours.items()
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


@dataclass(frozen=True)
class Report:
    period: Period
    steps: list[WaitStats]
    departments: list[WaitStats]
    approvers: list[WaitStats]
    outcomes: Outcomes


def _waiting_steps(period: Period) -> Iterable[tuple[str, int, str, str, Wait]]:
    """One query: steps opened in the period that are still open, or were closed by a decision
    (a step skipped because the change was withdrawn or rejected elsewhere waited for nobody).
    Policies, steps and departments come as `Label`s, with their names in both languages."""
    has_decision = Exists(Decision.objects.filter(step=OuterRef("pk")))
    rows = (
        ApprovalStep.objects.filter(opened_at__gte=period.starts_at, opened_at__lt=period.ends_at)
        .filter(Q(status=StepStatus.PENDING) | Q(decided_at__isnull=False) & has_decision)
        .order_by("change__policy_name", "order", "name")
        .values_list(
            "change__policy_name",
            "change__policy_name_zh",
            "order",
            "name",
            "name_zh",
            "change__requester__profile__department__code",
            "change__requester__profile__department__name",
            "change__requester__profile__department__name_zh",
            "status",
            "opened_at",
            "decided_at",
            "due_at",
        )
    )
    for policy, policy_zh, order, name, name_zh, *department, status, opened, closed, due in rows:
        if opened is None:  # excluded by the query; the column itself is optional
            continue
        # A re-opened step (a rescheduled change's final approval) is pending again.
        closed_at = None if status == StepStatus.PENDING else closed
        wait = Wait(opened_at=opened, decided_at=closed_at, due_at=due)
        yield (
            Label(policy, policy, policy_zh),
            order,
            Label(name, name, name_zh),
            _department(*department),
            wait,
        )


def _approver_waits(period: Period) -> Iterable[tuple[str, Wait]]:
    """Two queries: each decision on a step opened in the period (from the step's opening to
    that person's decision), and each seat of a still open step."""
    in_period = {
        "step__opened_at__gte": period.starts_at,
        "step__opened_at__lt": period.ends_at,
    }
    decisions = Decision.objects.filter(**in_period).values_list(
        "approver__username", "step__opened_at", "decided_at", "step__due_at"
    )
    for username, opened, decided_at, due in decisions:
        # A decision before the step's latest opening belongs to an earlier opening.
        if opened is not None and decided_at >= opened:
            yield username, Wait(opened_at=opened, decided_at=decided_at, due_at=due)
    seats = StepApprover.objects.filter(step__status=StepStatus.PENDING, **in_period).values_list(
        "user__username", "step__opened_at", "step__due_at"
    )
    for username, opened, due in seats:
        if opened is not None:
            yield username, Wait(opened_at=opened, decided_at=None, due_at=due)


def change_outcomes(period: Period) -> Outcomes:
    """One query: how the changes submitted in the period were decided and how they went."""
    counts = ChangeRequest.objects.filter(
        submitted_at__gte=period.starts_at, submitted_at__lt=period.ends_at
    ).aggregate(
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


def report(*, period: Period, now: datetime | None = None) -> Report:
    """Every figure of the metrics page for `period`, in four queries."""
    now = now or timezone.now()
    steps = list(_waiting_steps(period))
    approvers = sorted(_approver_waits(period), key=lambda item: item[0])
    return Report(
        period=period,
        steps=wait_stats((((p, name), w) for p, _o, name, _d, w in steps), now=now),
        departments=wait_stats(
            (((d, ""), w) for *_r, d, w in sorted(steps, key=lambda s: s[3])), now=now
        ),
        approvers=wait_stats((((u, ""), w) for u, w in approvers), now=now),
        outcomes=change_outcomes(period),
    )


@dataclass(frozen=True)
class Bar:
    """A bar drawn to scale: `percent` of the longest bar of its chart."""

    label: str
    value: float
    text: str
    percent: float


def bars(rows: Iterable[tuple[str, float | None, str]]) -> list[Bar]:
    """Bars scaled to the largest value of the chart (no value: no bar)."""
    items = [(label, value or 0.0, text) for label, value, text in rows]
    top = max((value for _l, value, _t in items), default=0.0) or 1.0
    return [
        Bar(label, value, text, percent=round(100 * value / top, 1)) for label, value, text in items
    ]


CSV_COLUMNS = (
    "table",
    "group",
    "step",
    "decided",
    "median_hours",
    "p90_hours",
    "open_overdue",
    "decided_late",
)


def _cell(value: object) -> object:
    """Spreadsheets run a cell that starts with = + - or @ as a formula; names are data."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


def csv_rows(report_: Report) -> Iterable[tuple[object, ...]]:
    """The waiting figures as rows under CSV_COLUMNS (hours rounded to 0.01), named as the
    reader of the active language sees them (`shown`)."""
    tables = (("step", report_.steps), ("department", report_.departments))
    for table, stats in (*tables, ("approver", report_.approvers)):
        for s in stats:
            median = None if s.median_hours is None else round(s.median_hours, 2)
            p90 = None if s.p90_hours is None else round(s.p90_hours, 2)
            values = (
                table,
                shown(s.group),
                shown(s.name),
                s.decided,
                median,
                p90,
                s.overdue_open,
                s.decided_late,
            )
            yield tuple(_cell(v) for v in values)
