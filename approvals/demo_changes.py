"""A lived-in demo: a few dozen changes in every state, told over the past six weeks.

Each story goes through the workflow services, exactly as the pages and the API would, while a
demo clock stands in for the current time, so steps open, wait, go overdue and close at
believable moments, and the audit trail records them when they happened.
"""

import heapq
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from approvals import workflow
from approvals.choices import ChangeState, StepStatus
from approvals.exceptions import DomainError
from approvals.models import ApprovalStep, ChangeRequest, ChangeTemplate


class DemoClock:
    """The demo's idea of now: starts in the past and only moves forward, never past the real
    time."""

    def __init__(self, at: datetime, *, limit: datetime) -> None:
        self.at, self.limit = at, limit

    def now(self) -> datetime:
        return self.at

    def move_to(self, at: datetime) -> None:
        if at > self.limit:
            raise ValueError(f"a demo story reaches {at:%Y-%m-%d %H:%M}, after the real time")
        self.at = max(self.at, at)


@contextmanager
def clock_in_force(clock: DemoClock) -> Iterator[None]:
    """The services read the time from `django.utils.timezone.now`; the demo seed (a management
    command, never a serving process) points it at the demo clock while the stories run."""
    real_now = timezone.now
    timezone.now = clock.now
    try:
        yield
    finally:
        timezone.now = real_now


@dataclass
class Story:
    """One change: created `days_ago`, its window `window` days after creation (hours long),
    then each action `hours` after the previous one."""

    title: str
    requester: str
    days_ago: float
    actions: list[tuple[float, str, dict[str, Any]]]
    fields: dict[str, Any] = field(default_factory=dict)
    window: float = 7
    hours_long: float = 3


PLANS = {
    "backout_plan": "Restore the configuration and data backup taken just before the change.",
    "test_plan": "Run the service's smoke checks and watch error rates for an hour.",
}


def normal(
    description: str, *, impact: str = "low", category: str = "software_upgrade", **extra: Any
) -> dict[str, Any]:
    return {
        "change_type": "normal",
        "description": description,
        "goal": extra.pop("goal", "Keep the service supported, secure and fast."),
        "scope": extra.pop("scope", "The systems named in the title."),
        "expected_impact": extra.pop("expected_impact", "A short read-only period at night."),
        "impact": impact,
        "category": category,
        "implementer": "ivan",
        **PLANS,
        **extra,
    }


def emergency(description: str, **extra: Any) -> dict[str, Any]:
    return normal(description, impact="high", category="security", **extra) | {
        "change_type": "emergency"
    }


def approve(hours: float, by: str = "") -> tuple[float, str, dict[str, Any]]:
    return (hours, "decide", {"decision": "approve", "comment": "Reviewed; fine by me.", "by": by})


def reject(hours: float, comment: str) -> tuple[float, str, dict[str, Any]]:
    return (hours, "decide", {"decision": "reject", "comment": comment})


def ask(hours: float, comment: str) -> tuple[float, str, dict[str, Any]]:
    return (hours, "decide", {"decision": "request_info", "comment": comment})


def act(hours: float, name: str, **args: Any) -> tuple[float, str, dict[str, Any]]:
    return (hours, name, args)


SUBMIT = act(0.5, "submit")


def assess(hours: float = 3, risk: str = "low", impact: str | None = None) -> tuple:
    return act(hours, "assess", risk=risk, impact=impact)


def carried_out(outcome: str = "success") -> list[tuple[float, str, dict[str, Any]]]:
    return [act(0, "start"), act(2, "complete", outcome=outcome)]


FEEDBACK = act(20, "feedback")


STORIES: list[Story] = [
    # Closed: decided, carried out, reported on.
    Story(
        "Upgrade the ticketing database to PostgreSQL 16",
        "alice",
        41,
        [SUBMIT, assess(4, "medium", "medium"), approve(5), approve(20), approve(30)]
        + carried_out()
        + [FEEDBACK],
        normal("Dump, upgrade and restore the ticketing cluster.", impact="medium"),
        window=6,
    ),
    Story(
        "Rotate the VPN gateway certificates",
        "alice",
        38,
        [SUBMIT, assess(2), approve(2), approve(6), *carried_out(), FEEDBACK],
        normal("Install the renewed certificates on both VPN gateways.", category="security"),
        window=4,
    ),
    Story(
        "Replace the core switch firmware",
        "alice",
        36,
        [SUBMIT, assess(6, "high", "high"), approve(8), approve(30), approve(12), approve(40)]
        + [approve(60), approve(30), *carried_out(), FEEDBACK],
        normal(
            "Upgrade both core switches, one at a time, to the vendor's long-term release.",
            impact="high",
            category="infrastructure",
            departments=["IT", "OPS"],
        ),
        window=14,
    ),
    Story(
        "Monthly OS security patches (October)",
        "alice",
        33,
        [SUBMIT, *carried_out(), FEEDBACK],
        {"change_type": "standard", "template": 0, "implementer": "ivan"},
        window=2,
    ),
    Story(
        "Block the exploited mail-gateway vulnerability",
        "alice",
        30,
        [SUBMIT, approve(0.5, "mia"), act(0.2, "start"), act(3, "complete", outcome="success")]
        + [approve(50), FEEDBACK],
        emergency("Apply the vendor's hotfix and block the attack pattern at the gateway."),
        window=0.02,
    ),
    # Implemented, failed: waiting for feedback or for their review.
    Story(
        "Automate the quarterly ledger close",
        "bob",
        29,
        [SUBMIT, assess(8, "medium", "medium"), approve(30), approve(10), approve(52)]
        + carried_out(),
        normal(
            "Replace the manual close spreadsheet with the scheduled ledger job.",
            impact="medium",
            category="process",
            departments=["FIN"],
        ),
        window=7,
    ),
    Story(
        "Move payroll exports to SFTP",
        "bob",
        26,
        [SUBMIT, assess(5), approve(6), approve(20), approve(9), *carried_out("failed")],
        normal(
            "Send the payroll export to the bank over SFTP instead of e-mail.",
            category="process",
            departments=["FIN", "HR"],
        ),
        window=5,
    ),
    Story(
        "Restore the failed storage controller",
        "alice",
        21,
        [SUBMIT, approve(2, "mia"), act(0.1, "start"), act(4, "complete", outcome="success")],
        emergency("Swap the failed controller and resynchronise the mirror."),
        window=0.02,
    ),
    Story(
        "Renew the TLS certificate of the load balancer (November)",
        "alice",
        18,
        [SUBMIT, *carried_out()],
        {"change_type": "standard", "template": 1, "implementer": "ivan"},
        window=3,
    ),
    # Refused, withdrawn, sent back.
    Story(
        "Replace the HR onboarding workflow",
        "bob",
        24,
        [SUBMIT, assess(3, "medium", "medium"), approve(10)]
        + [reject(20, "Clashes with the annual review cycle; plan it for January.")],
        normal(
            "Move onboarding forms to the new HR portal.",
            impact="medium",
            category="process",
            departments=["FIN", "HR"],
        ),
        window=20,
    ),
    Story(
        "Retire the legacy reporting server",
        "alice",
        22,
        [SUBMIT, reject(6, "Not feasible yet: three finance reports still run there.")],
        normal("Switch the server off after moving its last reports.", category="infrastructure"),
        window=15,
    ),
    Story(
        "Enable single sign-on for the wiki",
        "alice",
        16,
        [
            SUBMIT,
            assess(3),
            approve(5),
            act(10, "withdraw", comment="Bundled into the SSO rollout."),
        ],
        normal("Connect the wiki to the identity provider."),
        window=20,
    ),
    Story(
        "Tune the nightly backup schedule",
        "bob",
        12,
        [act(30, "withdraw", comment="Not needed after the storage upgrade.")],
        normal("Move the nightly backups an hour later.", departments=["FIN"]),
        window=20,
    ),
    Story(
        "Archive closed projects in the file share",
        "alice",
        14,
        [SUBMIT, assess(4), ask(7, "Say how long the archive stays readable, and by whom.")]
        + [act(20, "edit", goal="Free space; archives stay readable by IT for seven years.")]
        + [SUBMIT, assess(3), approve(4), approve(9)],
        normal("Move projects closed before 2024 to the archive volume.", category="process"),
        window=19,
    ),
    # Approved, waiting for their window (the calendar's coming weeks).
    Story(
        "Add a read replica to the CRM database",
        "alice",
        9,
        [SUBMIT, assess(5, "medium", "medium"), approve(7), approve(12), approve(26)],
        normal("Add a streaming replica for reports.", impact="medium"),
        window=13,
    ),
    Story(
        "Upgrade the monitoring agents",
        "alice",
        8,
        [SUBMIT, assess(2), approve(3), approve(5)],
        normal("Roll out the new agent version to every server."),
        window=12.05,
    ),
    Story(
        "Monthly OS security patches (December)",
        "alice",
        3,
        [SUBMIT],
        {"change_type": "standard", "template": 0, "implementer": "ivan"},
        window=8,
    ),
    Story(
        "Switch the expense tool to the new tax rates",
        "bob",
        6,
        [SUBMIT, assess(4), approve(3), approve(8)],
        normal("Load next year's tax tables into the expense tool.", departments=["FIN"]),
        window=9,
    ),
    # In progress right now.
    Story(
        "Resize the file server volume",
        "alice",
        4,
        [SUBMIT, assess(2), approve(3), approve(4), act(0, "start")],
        normal("Grow the shared volume by 2 TB online.", category="infrastructure"),
        window=4 - 2 / 24,
        hours_long=6,
    ),
    # Waiting on approvers: each step of the routes, some overdue.
    Story(
        "Upgrade the document management system",
        "alice",
        3,
        [SUBMIT, assess(3, "medium", "medium")],
        normal("Move to the vendor's current major release.", impact="medium"),
        window=12,
    ),
    Story(
        "Introduce a purchase approval threshold",
        "bob",
        2.5,
        [SUBMIT, assess(2), approve(5)],
        normal(
            "Purchases above 5 000 need a second approval.",
            category="process",
            departments=["FIN", "OPS", "HR"],
        ),
        window=11,
    ),
    Story(
        "Replace the warehouse scanners' Wi-Fi",
        "alice",
        4,
        [SUBMIT, assess(3, "high", "high"), approve(6), approve(12), approve(10)],
        normal(
            "New access points in both warehouses.",
            impact="high",
            category="infrastructure",
            departments=["IT", "OPS"],
        ),
        window=16,
    ),
    Story(
        "Upgrade the HR payroll engine",
        "bob",
        2,
        [SUBMIT, assess(4, "medium", "medium"), approve(4), approve(6)],
        normal("The vendor's yearly payroll release.", impact="medium", departments=["FIN"]),
        window=10,
    ),
    Story(
        "Patch the customer portal's web framework",
        "alice",
        1.5,
        [SUBMIT, assess(2), approve(3)],
        normal("Apply the framework's security release.", category="security"),
        window=6,
    ),
    Story(
        "Clean up stale firewall rules",
        "alice",
        1.2,
        [SUBMIT, assess(1)],
        normal("Remove rules unused for a year.", category="security"),
        window=7,
    ),
    Story(
        "Fail over the payment gateway to the second site",
        "alice",
        0.3,
        [SUBMIT],
        emergency("The primary site's uplink is flapping; move traffic now."),
        window=0.01,
    ),
    # Waiting for the assessor, and drafts.
    Story(
        "Upgrade the build servers' compilers",
        "alice",
        1,
        [SUBMIT],
        normal("Move the build image to the current compiler release."),
        window=9,
    ),
    Story(
        "Consolidate the finance shared mailboxes",
        "bob",
        0.8,
        [SUBMIT],
        normal("Merge three mailboxes into one.", category="process", departments=["FIN"]),
        window=12,
    ),
    Story(
        "Move the intranet to the new hosting",
        "alice",
        0.5,
        [],
        normal("Rehost the intranet on the container platform.", impact="medium"),
        window=20,
    ),
    Story(
        "Introduce quarterly access reviews",
        "bob",
        0.2,
        [],
        normal("A quarterly review of who can reach finance systems.", category="process"),
        window=25,
    ),
]

COMMENTS = [
    ("Upgrade the document management system", "tom", "I will need the vendor's release notes."),
    ("Upgrade the document management system", "alice", "@tom attached to the change; page 4."),
    ("Introduce a purchase approval threshold", "olga", "OPS is fine with 5 000."),
    ("Resize the file server volume", "ivan", "Half way through; no errors so far."),
]


def _users() -> dict[str, User]:
    return {u.username: u for u in get_user_model().objects.all()}


def _open_step(change: ChangeRequest) -> ApprovalStep | None:
    return (
        change.steps.filter(round=change.round, status=StepStatus.PENDING)
        .prefetch_related("approvers")
        .order_by("order")
        .first()
    )


def _decide(
    change: ChangeRequest, users: dict[str, User], decision: str, comment: str, by: str = ""
) -> None:
    """Decide the open step as its approvers would (only `by`, when named): each seat in turn
    until the step closes (a joint step needs every head), skipping seats the rules refuse."""
    if change.state == ChangeState.SUBMITTED:
        workflow.step_decide(
            actor=users["ada"], change_id=change.pk, decision=decision, comment=comment
        )
        return
    step = _open_step(change)
    if step is None:
        raise ValueError(f"{change.title}: no open step to decide")
    seats = sorted(step.approvers.all(), key=lambda u: u.username)
    for approver in [u for u in seats if u.username == by] if by else seats:
        try:
            workflow.step_decide(
                actor=approver,
                change_id=change.pk,
                step_id=step.pk,
                decision=decision,
                comment=comment,
            )
        except DomainError:
            continue
        step.refresh_from_db()
        if step.status != StepStatus.PENDING:
            return
    raise ValueError(f"{change.title}: nobody could decide {step.name}")


def _run(story: Story, users: dict[str, User], now: datetime) -> Iterator[datetime]:
    """The story as a sequence of moments: yields when its next action is due, and performs
    it when resumed."""
    created = now - timedelta(days=story.days_ago)
    yield created
    data = dict(story.fields)
    if "template" in data:
        template = list(ChangeTemplate.objects.order_by("pk"))[data["template"]]
        data |= {"template": template.pk, "description": template.description}
    start = created + timedelta(days=story.window)
    data |= {
        "title": story.title,
        "planned_start": start,
        "planned_end": start + timedelta(hours=story.hours_long),
    }
    requester = users[story.requester]
    change = workflow.change_create(actor=requester, data=data)
    at = created
    for hours, name, args in story.actions:
        at = max(at, start + timedelta(minutes=5)) if name == "start" else at
        at += timedelta(hours=hours)
        yield at
        change.refresh_from_db()
        ACTIONS[name](change, users, requester, args)


def _submit(change: ChangeRequest, users: dict, requester: User, args: dict) -> None:
    workflow.change_submit(actor=requester, change_id=change.pk)


def _assess(change: ChangeRequest, users: dict, requester: User, args: dict) -> None:
    workflow.change_assess(
        actor=users["ada"],
        change_id=change.pk,
        impact=args["impact"] or change.impact,
        risk=args["risk"],
        notes="Feasible; the plans are complete.",
    )


def _decision(change: ChangeRequest, users: dict, requester: User, args: dict) -> None:
    _decide(change, users, args["decision"], args["comment"], args.get("by", ""))


def _edit(change: ChangeRequest, users: dict, requester: User, args: dict) -> None:
    workflow.change_update(actor=requester, change_id=change.pk, data=args)


def _withdraw(change: ChangeRequest, users: dict, requester: User, args: dict) -> None:
    workflow.change_withdraw(actor=requester, change_id=change.pk, comment=args["comment"])


def _start(change: ChangeRequest, users: dict, requester: User, args: dict) -> None:
    workflow.change_start(actor=users["ivan"], change_id=change.pk)


def _complete(change: ChangeRequest, users: dict, requester: User, args: dict) -> None:
    notes = "Done as planned." if args["outcome"] == "success" else "Bank refused the key."
    workflow.change_complete(
        actor=users["ivan"], change_id=change.pk, outcome=args["outcome"], notes=notes
    )


def _feedback(change: ChangeRequest, users: dict, requester: User, args: dict) -> None:
    workflow.change_feedback(
        actor=users["ivan"],
        change_id=change.pk,
        summary="Carried out in the window; no incident followed.",
        lessons="Announce the read-only period a day earlier.",
    )


ACTIONS: dict[str, Callable[[ChangeRequest, dict, User, dict], None]] = {
    "submit": _submit,
    "assess": _assess,
    "decide": _decision,
    "edit": _edit,
    "withdraw": _withdraw,
    "start": _start,
    "complete": _complete,
    "feedback": _feedback,
}


@transaction.atomic
def seed_changes() -> int:
    """Add the demo changes once: an installation that has any change keeps what it has.
    Returns how many were added."""
    if ChangeRequest.objects.exists():
        return 0
    users = _users()
    real_now = timezone.now()
    clock = DemoClock(real_now - timedelta(days=60), limit=real_now)
    # The stories interleave in time, as real work does: the next action of whichever story is
    # due first runs next, so the audit trail's order is also the order of its times.
    due: list[tuple[datetime, int, Iterator[datetime]]] = []
    for index, story in enumerate(STORIES):
        moments = _run(story, users, real_now)
        heapq.heappush(due, (next(moments), index, moments))
    with clock_in_force(clock):
        while due:
            at, index, moments = heapq.heappop(due)
            clock.move_to(at)
            following = next(moments, None)
            if following is not None:
                heapq.heappush(due, (following, index, moments))
    by_title = {c.title: c for c in ChangeRequest.objects.all()}
    for title, username, text in COMMENTS:
        workflow.change_comment(actor=users[username], change_id=by_title[title].pk, text=text)
    return len(STORIES)
