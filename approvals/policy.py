"""Who may do what: pure functions over already-loaded data, shared by services, pages and API.

Nothing here touches the database, so the rules are testable without HTTP and the pages can ask
the same questions to decide which buttons to show.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from approvals.choices import (
    APPROVAL_STATES,
    OPEN_STATES,
    ApproverSource,
    ChangeState,
    ChangeType,
    DecisionKind,
    Role,
    StepKind,
    StepStatus,
)
from approvals.exceptions import InvalidTransition, NotAllowed
from approvals.models import ApprovalStep, ChangeRequest

# Roles that see every change; a plain requester sees the changes they take part in.
VIEW_ALL_ROLES = frozenset(
    {
        Role.AUDITOR,
        Role.CHANGE_MANAGER,
        Role.CAB,
        Role.ASSESSOR,
        Role.APPROVER,
        Role.IMPLEMENTER,
        Role.TECHNICAL_EXPERT,
        Role.RISK_REVIEWER,
        Role.EXTERNAL_EXPERT,
    }
)

ACTIONS = (
    "edit",
    "submit",
    "assess",
    "approve",
    "reject",
    "request_info",
    "withdraw",
    "start",
    "complete",
    "feedback",
    "comment",
)


@dataclass(frozen=True)
class Actor:
    """The person acting, with what the rules need to know about them right now."""

    id: int
    username: str
    roles: frozenset[str] = frozenset()
    # Approvers whose seat this person holds at this moment through a delegation.
    delegator_ids: frozenset[int] = frozenset()
    department_id: int | None = None

    @property
    def is_auditor(self) -> bool:
        return Role.AUDITOR in self.roles

    def has_role(self, role: str) -> bool:
        return role in self.roles


@dataclass
class OpenStep:
    """An open step with its seats (user id → source) and the seats that have decided."""

    step: ApprovalStep
    seats: dict[int, str]
    decided: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seat:
    user_id: int
    on_behalf_of_id: int | None
    escalated: bool


# Verbs for messages, translated: "Cannot submit a change that is approved."
ACTION_VERBS = {
    "edit": pgettext_lazy("action verb", "edit"),
    "submit": pgettext_lazy("action verb", "submit"),
    "withdraw": pgettext_lazy("action verb", "withdraw"),
    "assess": pgettext_lazy("action verb", "assess"),
    "start": pgettext_lazy("action verb", "start"),
    "complete": pgettext_lazy("action verb", "complete"),
    "close": pgettext_lazy("action verb", "close"),
}


def _refuse_auditor(actor: Actor) -> None:
    if actor.is_auditor:
        raise NotAllowed(_("Auditors have read-only access and perform no action."))


def can_view(actor: Actor, change: ChangeRequest, seat_user_ids: Iterable[int] = ()) -> bool:
    if actor.roles & VIEW_ALL_ROLES:
        return True
    if actor.id in (change.requester_id, change.implementer_id):
        return True
    return bool(actor.delegator_ids & set(seat_user_ids))


def check_create(actor: Actor) -> None:
    _refuse_auditor(actor)


def _require_requester(actor: Actor, change: ChangeRequest, what: str) -> None:
    _refuse_auditor(actor)
    if actor.id != change.requester_id:
        raise NotAllowed(
            _("Only the requester may %(what)s this change.") % {"what": ACTION_VERBS[what]}
        )


def _require_state(change: ChangeRequest, states: Iterable[str], action: str) -> None:
    if change.state not in tuple(states):
        raise InvalidTransition(
            _("Cannot %(action)s a change that is %(state)s.")
            % {"action": ACTION_VERBS[action], "state": change.get_state_display().lower()}
        )


def check_edit(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.DRAFT], "edit")
    _require_requester(actor, change, "edit")


def check_submit(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.DRAFT], "submit")
    _require_requester(actor, change, "submit")


def check_withdraw(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    _require_state(change, OPEN_STATES, "withdraw")
    _require_requester(actor, change, "withdraw")


def check_assess(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.SUBMITTED], "assess")
    if not actor.has_role(Role.ASSESSOR):
        raise NotAllowed(_("Only assessors may assess changes."))
    if actor.id == change.requester_id:
        raise NotAllowed(_("Segregation of duties: you cannot assess a change you requested."))


def decision_seat(actor: Actor, change: ChangeRequest, open_step: OpenStep | None) -> Seat:
    """The seat `actor` would decide `open_step` from, or the reason they cannot."""
    _refuse_auditor(actor)
    if open_step is None or (
        change.state not in APPROVAL_STATES and open_step.step.kind != StepKind.RETROSPECTIVE
    ):
        raise InvalidTransition(
            _("The change is %(state)s; it has no step open for decision.")
            % {"state": change.get_state_display().lower()}
        )
    step = open_step.step
    if actor.id == change.requester_id:
        raise NotAllowed(_("Segregation of duties: you cannot decide a change you requested."))
    if step.kind == StepKind.FINAL and actor.id == change.implementer_id:
        raise NotAllowed(
            _("Segregation of duties: the implementer cannot give the final approval.")
        )
    if actor.id in open_step.seats:
        if actor.id in open_step.decided:
            raise InvalidTransition(_("You have already decided this step."))
        return Seat(actor.id, None, open_step.seats[actor.id] == ApproverSource.ESCALATION)
    lent = sorted(
        seat
        for seat in actor.delegator_ids
        if seat in open_step.seats and seat not in open_step.decided
    )
    if lent:
        seat = lent[0]
        return Seat(seat, seat, open_step.seats[seat] == ApproverSource.ESCALATION)
    if any(seat in open_step.seats for seat in actor.delegator_ids):
        raise InvalidTransition(_("The approver you stand in for has already decided this step."))
    raise NotAllowed(
        _("You are not an approver of the open step “%(step)s”.") % {"step": step.name}
    )


def check_start(actor: Actor, change: ChangeRequest, blackout_names: Iterable[str] = ()) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.APPROVED], "start")
    if change.implementer_id is None:
        raise InvalidTransition(_("Name an implementer before the change can start."))
    if actor.id != change.implementer_id:
        raise NotAllowed(_("Only the change's implementer may start it."))
    names = list(blackout_names)
    if names and change.change_type != ChangeType.EMERGENCY:
        raise InvalidTransition(
            _("A blackout window is in force (%(names)s); only emergency changes may start now.")
            % {"names": ", ".join(names)}
        )


def check_complete(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.IMPLEMENTING], "complete")
    if actor.id != change.implementer_id:
        raise NotAllowed(_("Only the change's implementer may complete it."))


def awaits_retrospective(change: ChangeRequest, retrospective_approved: bool) -> bool:
    """A carried-out emergency change that cannot be closed until its review is approved."""
    return (
        change.change_type == ChangeType.EMERGENCY
        and change.state in (ChangeState.IMPLEMENTED, ChangeState.FAILED)
        and not retrospective_approved
    )


def check_feedback(actor: Actor, change: ChangeRequest, retrospective_approved: bool) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.IMPLEMENTED, ChangeState.FAILED], "close")
    if actor.id not in (change.implementer_id, change.requester_id):
        raise NotAllowed(_("Only the implementer or the requester may write the feedback report."))
    if awaits_retrospective(change, retrospective_approved):
        raise InvalidTransition(
            _("An emergency change is closed only after its retrospective review is approved.")
        )


def check_comment(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)


def is_overdue(step: ApprovalStep, now: datetime) -> bool:
    """An open step past its due time."""
    return step.status == StepStatus.PENDING and step.due_at is not None and step.due_at < now


def blackouts_in_force(
    windows: Iterable[tuple[str, datetime, datetime, frozenset[int]]],
    department_ids: Iterable[int],
    at: datetime,
) -> list[str]:
    """Names of the windows covering `at` that apply to any of the departments (empty = all)."""
    departments = set(department_ids)
    return [
        name
        for name, starts, ends, window_departments in windows
        if starts <= at < ends and (not window_departments or window_departments & departments)
    ]


def quorum_needed(quorum: str, route_seats: int) -> int:
    if quorum == "any":
        return 1
    if quorum == "all":
        return max(route_seats, 1)
    return max(1, min(int(quorum), route_seats))


def step_is_met(open_step: OpenStep) -> bool:
    """Approvals reach the quorum, or an escalation target approved (they decide alone)."""
    approvals = [s for s, d in open_step.decided.items() if d == DecisionKind.APPROVE]
    if any(open_step.seats.get(s) == ApproverSource.ESCALATION for s in approvals):
        return True
    route_seats = sum(1 for src in open_step.seats.values() if src == ApproverSource.ROUTE)
    route_approvals = sum(1 for s in approvals if open_step.seats.get(s) == ApproverSource.ROUTE)
    return route_approvals >= quorum_needed(open_step.step.quorum, route_seats)


def allowed_actions(
    actor: Actor,
    change: ChangeRequest,
    open_step: OpenStep | None,
    *,
    retrospective_approved: bool = False,
    blackout_names: Iterable[str] = (),
) -> list[str]:
    """The actions `actor` may take on `change` now, by the same checks the services run."""
    checks = {
        "edit": lambda: check_edit(actor, change),
        "submit": lambda: check_submit(actor, change),
        "assess": lambda: check_assess(actor, change),
        "approve": lambda: decision_seat(actor, change, open_step),
        "withdraw": lambda: check_withdraw(actor, change),
        "start": lambda: check_start(actor, change, blackout_names),
        "complete": lambda: check_complete(actor, change),
        "feedback": lambda: check_feedback(actor, change, retrospective_approved),
        "comment": lambda: check_comment(actor, change),
    }
    allowed: list[str] = []
    for action, check in checks.items():
        try:
            check()
        except (NotAllowed, InvalidTransition):
            continue
        if action == "approve":
            allowed += ["approve", "reject", "request_info"]
        else:
            allowed.append(action)
    return [a for a in ACTIONS if a in allowed]


__all__ = [
    "ACTIONS",
    "Actor",
    "OpenStep",
    "Seat",
    "StepStatus",
    "allowed_actions",
    "blackouts_in_force",
    "can_view",
    "check_assess",
    "check_comment",
    "check_complete",
    "check_create",
    "check_edit",
    "check_feedback",
    "check_start",
    "check_submit",
    "check_withdraw",
    "decision_seat",
    "quorum_needed",
    "step_is_met",
]
