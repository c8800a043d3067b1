"""Compliance evidence over a whole population: every change that started (reached
`implementing`) in a period, tested against the controls an auditor samples by hand today.

Each exception names the change, the control and the audit events that show it. The report is
computed from the trail (what was recorded when it happened: the `started` event's snapshot holds
the approved window, decision events hold who decided which step) and states the latest signed
checkpoint and verification run, so the reader knows how far the trail itself was proven.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.evidence import runs
from approvals.evidence.verification import latest_signed
from approvals.models import ApprovalStep, AuditEvent, BlackoutWindow, ChangeRequest
from approvals.policy import blackouts_in_force

DECISIONS = ("approved", "rejected", "info_requested")
REVIEW = "retrospective"
BATCH = 500

CONTROLS = {
    "approved_before_start": "All approval steps were met before the change started",
    "requester_not_decider": "The requester decided no step of their own change",
    "implementer_not_final_or_reviewer": "The implementer gave neither the final approval nor "
    "the review",
    "one_step_per_person": "Nobody decided more than one approval step in a round",
    "started_in_window": "The change started inside its approved window and outside blackouts "
    "(emergencies excepted)",
    "reviewed": "Every failed and every emergency change was reviewed",
    "standard_template_approved": "Standard changes came from an approved template",
}


@dataclass
class ControlException:
    change: int
    key: str
    control: str
    detail: str
    events: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "key": self.key,
            "control": self.control,
            "detail": self.detail,
            "events": self.events,
        }


@dataclass
class ComplianceReport:
    since: datetime
    until: datetime
    changes: int = 0
    exceptions: list[ControlException] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    verification: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = defaultdict(int)
        for item in self.exceptions:
            counts[item.control] += 1
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "changes_checked": self.changes,
            "controls": [
                {"control": code, "title": title, "exceptions": counts[code]}
                for code, title in CONTROLS.items()
            ],
            "exceptions": [item.as_dict() for item in self.exceptions],
            "checkpoint": self.checkpoint,
            "verification": self.verification,
        }


@dataclass
class _Trail:
    """One change's events, as the checks read them."""

    change: ChangeRequest
    events: list[tuple]  # (seq, action, actor, on_behalf_of, occurred_at, data, snapshot)
    steps: dict[int, tuple[int, str, str, datetime | None]]  # id -> (round, kind, status, decided)

    def first(self, action: str) -> tuple | None:
        return next((e for e in self.events if e[1] == action), None)

    def decisions(self) -> Iterator[tuple]:
        return (e for e in self.events if e[1] in DECISIONS and "step_id" in (e[5] or {}))


def _usernames(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return dict(get_user_model().objects.filter(pk__in=wanted).values_list("pk", "username"))


def _blackouts(since: datetime, until: datetime) -> list[tuple[str, datetime, datetime, frozenset]]:
    windows: dict[int, tuple[str, datetime, datetime, set[int]]] = {}
    rows = BlackoutWindow.objects.filter(starts_at__lt=until, ends_at__gt=since).values_list(
        "pk", "name", "starts_at", "ends_at", "departments__id"
    )
    for pk, name, starts, ends, department in rows.order_by("starts_at", "pk"):
        entry = windows.setdefault(pk, (name, starts, ends, set()))
        if department is not None:
            entry[3].add(department)
    return [(n, s, e, frozenset(d)) for n, s, e, d in windows.values()]


def _started_in(since: datetime, until: datetime) -> list[int]:
    return list(
        AuditEvent.objects.filter(action="started", occurred_at__gte=since, occurred_at__lt=until)
        .order_by("change_id")
        .values_list("change_id", flat=True)
        .distinct()
    )


def _trails(batch: list[int]) -> list[_Trail]:
    """The changes of one batch with their events and steps (three queries and a prefetch)."""
    events: dict[int, list[tuple]] = defaultdict(list)
    rows = (
        AuditEvent.objects.filter(change_id__in=batch)
        .order_by("seq")
        .values_list(
            "change_id",
            "seq",
            "action",
            "actor_name",
            "on_behalf_of_name",
            "occurred_at",
            "data",
            "snapshot",
        )
    )
    for row in rows:
        events[row[0]].append(row[1:])
    steps: dict[int, dict[int, tuple]] = defaultdict(dict)
    for pk, change_id, round_, kind, status, decided in ApprovalStep.objects.filter(
        change_id__in=batch
    ).values_list("pk", "change_id", "round", "kind", "status", "decided_at"):
        steps[change_id][pk] = (round_, kind, status, decided)
    changes = (
        ChangeRequest.objects.filter(pk__in=batch)
        .select_related("template")
        .prefetch_related("departments")
        .order_by("pk")
    )
    return [_Trail(change, events[change.pk], steps[change.pk]) for change in changes]


def _implementer_id(trail: _Trail) -> int | None:
    """The implementer when the change started (its snapshot), else the change's."""
    started = trail.first("started")
    snapshot = (started[6] if started else None) or {}
    return snapshot.get("implementer_id", trail.change.implementer_id)


# --- the controls ---------------------------------------------------------------------------


def _approved_before_start(trail: _Trail, started: tuple) -> Iterator[tuple[str, list[int]]]:
    snapshot = started[6] or {}
    if snapshot.get("pre_approved"):
        return
    for event in trail.decisions():
        data = event[5]
        if event[0] > started[0] and event[1] == "approved" and data.get("step_kind") != REVIEW:
            yield (
                f"{event[2]} approved step {data.get('step_name', data['step_id'])} after the "
                "change had started",
                [started[0], event[0]],
            )
    round_ = snapshot.get("round")
    for _pk, (step_round, kind, status, decided) in sorted(trail.steps.items()):
        if step_round != round_ or kind == REVIEW:
            continue
        if status not in ("approved", "skipped") or (decided and decided > started[4]):
            yield (f"a step of round {round_} was not met when the change started", [started[0]])


def _deciders(trail: _Trail, usernames: set[str], kinds: set[str] | None) -> Iterator[tuple]:
    for event in trail.decisions():
        if kinds is not None and event[5].get("step_kind") not in kinds:
            continue
        if usernames & {event[2], event[3]} - {""}:
            yield event


def _one_step_per_person(trail: _Trail) -> Iterator[tuple[str, list[int]]]:
    decided: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    for event in trail.decisions():
        step = trail.steps.get(event[5]["step_id"])
        if step is None or step[1] == REVIEW or event[1] == "info_requested":
            continue
        decided[(step[0], event[2])].setdefault(event[5]["step_id"], event[0])
    for (round_, who), by_step in sorted(decided.items()):
        if len(by_step) > 1:
            yield (
                f"{who} decided {len(by_step)} approval steps in round {round_}",
                sorted(by_step.values()),
            )


def _started_in_window(
    trail: _Trail, started: tuple, windows: list
) -> Iterator[tuple[str, list[int]]]:
    if trail.change.change_type == "emergency":
        return
    snapshot, at = started[6] or {}, started[4]
    planned_start = parse_datetime(snapshot.get("planned_start") or "")
    planned_end = parse_datetime(snapshot.get("planned_end") or "")
    grace = timedelta(minutes=getattr(settings, "START_GRACE_MINUTES", 15))
    if planned_start is None or planned_end is None:
        yield ("the change started without an approved window", [started[0]])
    elif not planned_start - grace <= at <= planned_end:
        yield (
            f"started at {at.isoformat()}, outside its approved window "
            f"{planned_start.isoformat()} – {planned_end.isoformat()}",
            [started[0]],
        )
    departments = [d.pk for d in trail.change.departments.all()]
    for name in blackouts_in_force(windows, departments, at):
        yield (f"started during the blackout window {name}", [started[0]])


def _reviewed(trail: _Trail) -> Iterator[tuple[str, list[int]]]:
    completed = trail.first("completed")
    if completed is None:
        return
    failed = (completed[5] or {}).get("outcome") == "failed" or trail.change.outcome == "failed"
    if trail.change.change_type != "emergency" and not failed:
        return
    reviews = [
        e
        for e in trail.decisions()
        if e[1] == "approved" and e[5].get("step_kind") == REVIEW and e[0] > completed[0]
    ]
    if not reviews:
        what = "emergency" if trail.change.change_type == "emergency" else "failed"
        yield (f"the {what} change has no approved review", [completed[0]])


def _standard_template(trail: _Trail) -> Iterator[tuple[str, list[int]]]:
    change = trail.change
    if change.change_type != "standard":
        return
    created = trail.first("created")
    seqs = [created[0]] if created else []
    template = change.template
    if template is None:
        yield ("a standard change without a template", seqs)
        return
    status = getattr(template, "status", None)
    approved = status == "approved" if status is not None else template.is_active
    if not approved:
        yield (f"its template {template.name!r} is {status or 'inactive'}, not approved", seqs)


def _check(trail: _Trail, names: dict[int, str], windows: list) -> Iterator[ControlException]:
    change = trail.change
    started = trail.first("started")
    if started is None:
        return
    requester = names.get(change.requester_id, "")
    implementer_id = _implementer_id(trail)
    implementer = names.get(implementer_id, "") if implementer_id else ""
    found: list[tuple[str, str, list[int]]] = []
    found += [("approved_before_start", d, s) for d, s in _approved_before_start(trail, started)]
    found += [
        ("requester_not_decider", f"the requester {requester} decided a step", [e[0]])
        for e in _deciders(trail, {requester}, None)
    ]
    found += [
        (
            "implementer_not_final_or_reviewer",
            f"the implementer {implementer} decided the {e[5].get('step_kind')} step",
            [e[0]],
        )
        for e in _deciders(trail, {implementer} - {""}, {"final", REVIEW})
    ]
    found += [("one_step_per_person", d, s) for d, s in _one_step_per_person(trail)]
    found += [("started_in_window", d, s) for d, s in _started_in_window(trail, started, windows)]
    found += [("reviewed", d, s) for d, s in _reviewed(trail)]
    found += [("standard_template_approved", d, s) for d, s in _standard_template(trail)]
    for control, detail, seqs in found:
        yield ControlException(change.pk, change.key, control, detail, seqs)


def compliance_report(*, since: datetime, until: datetime) -> ComplianceReport:
    """Test every change that started in [since, until) against the controls."""
    report = ComplianceReport(since=since, until=until, checkpoint=latest_signed())
    latest = runs.latest_completed()
    if latest is not None:
        report.verification = {
            "run": latest.pk,
            "ok": latest.ok,
            "checked_at": latest.finished_at.isoformat() if latest.finished_at else None,
            "first_bad_seq": latest.first_bad_seq,
        }
    change_ids = _started_in(since, until)
    report.changes = len(change_ids)
    windows = _blackouts(since - timedelta(days=1), until + timedelta(days=1))
    for first in range(0, len(change_ids), BATCH):
        batch = _trails(change_ids[first : first + BATCH])
        names = _usernames(
            [t.change.requester_id for t in batch] + [_implementer_id(t) for t in batch]
        )
        for trail in batch:
            report.exceptions.extend(_check(trail, names, windows))
    return report


def default_period(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last 30 days."""
    now = now or timezone.now()
    return now - timedelta(days=30), now
