"""Who may do what: pure functions over already-loaded data, shared by services, pages and API.

Nothing here touches the database, so the rules are testable without HTTP and the pages can ask
the same questions to decide which buttons to show.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from approvals.choices import (
    APPROVAL_STATES,
    OPEN_STATES,
    TERMINAL_STATES,
    ApproverSource,
    ChangeState,
    ChangeType,
    DecisionKind,
    Role,
    StepKind,
    StepStatus,
)
from approvals.exceptions import (
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    OutsideWindow,
    StaleStep,
)
from approvals.localization import localized, reader_name
from approvals.models import ApprovalStep, ChangeRequest
from approvals.naming import change_key

# Roles that oversee the whole process and so see every submitted change. Everyone else sees
# the changes they take part in (need to know); a draft never submitted is its requester's alone.
VIEW_ALL_ROLES = frozenset({Role.AUDITOR, Role.CHANGE_MANAGER, Role.CAB, Role.ASSESSOR})
# A review (kind retrospective) is decided once the change has been carried out.
REVIEW_STATES = (ChangeState.IMPLEMENTED, ChangeState.FAILED)
# Changes that hold a place on the calendar: a window overlapping one of them is a conflict.
SCHEDULED_STATES = (
    ChangeState.SUBMITTED,
    ChangeState.ASSESSED,
    ChangeState.TIER_APPROVAL,
    ChangeState.FINAL_APPROVAL,
    ChangeState.APPROVED,
    ChangeState.IMPLEMENTING,
)
# Roles whose holders may manage the route of a change (reassign a seat, move a window).
MANAGER_ROLES = frozenset({Role.CHANGE_MANAGER})
# Step kinds that approve a change; in one round a person decides at most one of them.
APPROVAL_KINDS = frozenset({StepKind.TIER, StepKind.FINAL})

ACTIONS = (
    "edit",
    "submit",
    "assess",
    "approve",
    "reject",
    "request_info",
    "reassign",
    "reschedule",
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


@dataclass(frozen=True)
class RoundDecision:
    """A live (not void) decision of the change's current round, as eligibility needs it."""

    step_id: int
    step_kind: str
    decider_id: int  # the person who acted: the seat holder, a delegate or an escalation target
    seat_id: int
    decision: str


@dataclass
class OpenStep:
    """An open step with its seats (user id → source), the seats that have decided, and the
    live decisions of the whole round (for the four-eyes rule across steps)."""

    step: ApprovalStep
    seats: dict[int, str]
    decided: dict[int, str] = field(default_factory=dict)
    round_decisions: tuple[RoundDecision, ...] = ()


@dataclass(frozen=True)
class Seat:
    user_id: int
    on_behalf_of_id: int | None
    escalated: bool


# Verbs for messages, translated: "Cannot submit a change that is approved."
ACTION_VERBS = {
    "reschedule": pgettext_lazy("action verb", "reschedule"),
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


def can_view(actor: Actor, change: ChangeRequest, involved_ids: Iterable[int] = ()) -> bool:
    """Need to know. `involved_ids`: everyone named on the change's route in any round and
    everyone who decided a step of it."""
    if actor.id == change.requester_id:
        return True
    if is_private_draft(change):
        return False
    if actor.roles & VIEW_ALL_ROLES or actor.id == change.implementer_id:
        return True
    involved = set(involved_ids)
    return actor.id in involved or bool(actor.delegator_ids & involved)


def is_private_draft(change: ChangeRequest) -> bool:
    """A draft that was never submitted is seen by its requester only."""
    return change.state == ChangeState.DRAFT and change.round == 0


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


# Why a person may not decide a step; one rule for routing, deciding, escalating, reassigning
# and the inbox (whose SQL mirrors it, and a test holds the two together).
EXCLUDED_REQUESTER = "requester"
EXCLUDED_IMPLEMENTER = "implementer"
EXCLUDED_DECIDED_THIS_STEP = "decided_this_step"
EXCLUDED_DECIDED_OTHER_STEP = "decided_other_step"


def exclusions(
    change: ChangeRequest,
    *,
    step_id: int | None,
    step_kind: str,
    round_decisions: Iterable[RoundDecision] = (),
) -> dict[int, str]:
    """Who may not decide this step of `change`, and why (user id → reason).

    - the requester decides no step of their change;
    - the implementer gives neither the final approval nor a review of their own work;
    - a person fills at most one seat of a step (directly, as delegate or escalation target);
    - in one round a person decides at most one approval step (tier or final): who decided an
      earlier one is not eligible for a later one.
    """
    excluded: dict[int, str] = {}
    for decision in round_decisions:
        if decision.step_id == step_id:
            excluded[decision.decider_id] = EXCLUDED_DECIDED_THIS_STEP
        elif step_kind in APPROVAL_KINDS and decision.step_kind in APPROVAL_KINDS:
            # Whoever acted, and whoever it was done on behalf of, decided that step.
            for person in (decision.decider_id, decision.seat_id):
                excluded.setdefault(person, EXCLUDED_DECIDED_OTHER_STEP)
    if step_kind in (StepKind.FINAL, StepKind.RETROSPECTIVE) and change.implementer_id:
        excluded[change.implementer_id] = EXCLUDED_IMPLEMENTER
    excluded[change.requester_id] = EXCLUDED_REQUESTER
    return excluded


def segregation_rules() -> list[str]:
    """The rules above in words, for the process guide: one sentence per exclusion reason and
    per control, so the guide cannot drift from what the services enforce."""
    rules = {
        EXCLUDED_REQUESTER: _("Nobody decides a step of a change they requested, nor assesses it."),
        EXCLUDED_IMPLEMENTER: _(
            "The implementer of a change gives neither its final approval nor its review (post-implementation or retrospective)."
        ),
        EXCLUDED_DECIDED_OTHER_STEP: _(
            "In one round a person decides at most one approval step (tier or final), whether directly, as a delegate or as an escalation target."
        ),
        EXCLUDED_DECIDED_THIS_STEP: _(
            "A person fills at most one seat of a step: a delegate holding two seats of a step that needs all its approvers fills only one."
        ),
    }
    return [
        *rules.values(),
        _("Auditors read everything and perform no action."),
        _(
            "A delegate acts on behalf of an absent approver only inside the delegation's dates; the record shows both names."
        ),
        _(
            "When these rules leave a step with nobody eligible, it goes to its escalation target, then to the CAB, under the same rules; if still nobody is eligible it waits for a change manager to reassign it."
        ),
        _(
            "A decision names the step it decides: one sent for a step that is no longer open is refused."
        ),
        _(
            "An approved change starts inside its approved window (from %(grace)s minutes before the planned start until the planned end) and outside blackout windows; emergency changes may start at once. Moving the window re-opens the final approval."
        )
        % {"grace": settings.START_GRACE_MINUTES},
        _(
            "Every failed change and every emergency change is reviewed by the CAB before it can be closed."
        ),
    ]


def exclusion_message(reason: str, step_kind: str) -> str:
    if reason == EXCLUDED_REQUESTER:
        return _("Segregation of duties: you cannot decide a change you requested.")
    if reason == EXCLUDED_IMPLEMENTER:
        if step_kind == StepKind.RETROSPECTIVE:
            return _("Segregation of duties: the implementer cannot review their own work.")
        return _("Segregation of duties: the implementer cannot give the final approval.")
    if reason == EXCLUDED_DECIDED_OTHER_STEP:
        return _(
            "Four eyes: you already decided another approval step of this change; a different person must decide this one."
        )
    return _("You have already decided this step.")


def open_step_exclusions(change: ChangeRequest, open_step: OpenStep) -> dict[int, str]:
    return exclusions(
        change,
        step_id=open_step.step.pk,
        step_kind=open_step.step.kind,
        round_decisions=open_step.round_decisions,
    )


def _require_decidable(change: ChangeRequest, open_step: OpenStep | None) -> OpenStep:
    decidable_in = (
        REVIEW_STATES
        if open_step and open_step.step.kind == StepKind.RETROSPECTIVE
        else APPROVAL_STATES
    )
    if open_step is None or change.state not in decidable_in:
        raise InvalidTransition(
            _("The change is %(state)s; it has no step open for decision.")
            % {"state": change.get_state_display().lower()}
        )
    return open_step


def require_open_step(open_step: OpenStep | None, step_id: int | None) -> None:
    """A decision names the step it decides; one for a step no longer open is stale."""
    if step_id is not None and (open_step is None or open_step.step.pk != step_id):
        raise StaleStep(
            _(
                "That step is no longer open for decision (it was decided, or the change moved on); reload the change."
            )
        )


def decision_seat(actor: Actor, change: ChangeRequest, open_step: OpenStep | None) -> Seat:
    """The seat `actor` would decide `open_step` from, or the reason they cannot."""
    _refuse_auditor(actor)
    open_step = _require_decidable(change, open_step)
    step = open_step.step
    excluded = open_step_exclusions(change, open_step)
    reason = excluded.get(actor.id)
    if reason == EXCLUDED_DECIDED_THIS_STEP:
        raise StaleStep(exclusion_message(reason, step.kind))
    if reason is not None:
        raise NotAllowed(exclusion_message(reason, step.kind))
    if actor.id in open_step.seats:
        if actor.id in open_step.decided:
            raise StaleStep(_("You have already decided this step."))
        return Seat(actor.id, None, open_step.seats[actor.id] == ApproverSource.ESCALATION)
    # A lent seat is filled on its holder's behalf: the holder's exclusions travel with it.
    lent = sorted(
        seat
        for seat in actor.delegator_ids
        if seat in open_step.seats and seat not in open_step.decided and seat not in excluded
    )
    if lent:
        seat = lent[0]
        return Seat(seat, seat, open_step.seats[seat] == ApproverSource.ESCALATION)
    holders = [seat for seat in actor.delegator_ids if seat in open_step.seats]
    if any(seat in open_step.decided for seat in holders):
        raise StaleStep(_("The approver you stand in for has already decided this step."))
    if holders:
        raise NotAllowed(exclusion_message(excluded[holders[0]], step.kind))
    raise NotAllowed(
        _("You are not an approver of the open step “%(step)s”.") % {"step": step.name}
    )


def check_decision_kind(open_step: OpenStep, decision: str) -> None:
    """A review cannot undo work already done: it accepts, asks for follow-up, or asks for more."""
    if open_step.step.kind == StepKind.RETROSPECTIVE and decision == DecisionKind.REJECT:
        raise InvalidTransition(
            _(
                "A review cannot reject a change that is already carried out: approve it with follow-up actions, or ask the implementer for more information."
            )
        )


def check_assessment_decision(actor: Actor, change: ChangeRequest, decision: str) -> None:
    """The assessor may stop a submitted change: send it back (request_info) or reject it."""
    check_assess(actor, change)
    if decision == DecisionKind.APPROVE:
        raise InvalidTransition(
            _("A submitted change is approved by assessing it, then its route.")
        )


def check_reassign(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    if not actor.roles & MANAGER_ROLES:
        raise NotAllowed(_("Only change managers may reassign an approver."))
    if actor.id == change.requester_id:
        raise NotAllowed(
            _("Segregation of duties: you cannot reassign the approvers of a change you requested.")
        )
    if change.state not in APPROVAL_STATES and change.state not in (
        ChangeState.IMPLEMENTED,
        ChangeState.FAILED,
    ):
        raise InvalidTransition(
            _("The change is %(state)s; it has no step open for decision.")
            % {"state": change.get_state_display().lower()}
        )


def check_reassign_target(
    change: ChangeRequest, open_step: OpenStep, target_id: int, target_roles: Iterable[str]
) -> None:
    """The person a seat moves to must be eligible under every rule, like any approver."""
    if Role.AUDITOR in set(target_roles):
        raise InvalidInput({"to": [_("Auditors perform no action and cannot hold a seat.")]})
    if target_id in open_step.seats:
        raise InvalidInput({"to": [_("This person already holds a seat on the step.")]})
    reason = open_step_exclusions(change, open_step).get(target_id)
    if reason is not None:
        raise InvalidInput({"to": [exclusion_message(reason, open_step.step.kind)]})


def check_reschedule(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.APPROVED], "reschedule")
    if actor.id != change.requester_id and not actor.roles & MANAGER_ROLES:
        raise NotAllowed(_("Only the requester or a change manager may move the window."))


def start_window(change: ChangeRequest) -> tuple[datetime, datetime] | None:
    """When `start` is accepted: from the grace period before the planned start until the
    planned end."""
    if change.planned_start is None or change.planned_end is None:
        return None
    grace = timedelta(minutes=settings.START_GRACE_MINUTES)
    return change.planned_start - grace, change.planned_end


def check_start(
    actor: Actor,
    change: ChangeRequest,
    blackout_names: Iterable[str] = (),
    *,
    now: datetime | None = None,
) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.APPROVED], "start")
    if change.implementer_id is None:
        raise InvalidTransition(_("Name an implementer before the change can start."))
    if actor.id != change.implementer_id:
        raise NotAllowed(_("Only the change's implementer may start it."))
    if not actor.has_role(Role.IMPLEMENTER):
        raise NotAllowed(_("Only a holder of the implementer role may start a change."))
    if change.change_type == ChangeType.EMERGENCY:
        return
    names = list(blackout_names)
    if names:
        raise InvalidTransition(
            _("A blackout window is in force (%(names)s); only emergency changes may start now.")
            % {"names": ", ".join(reader_name(n) for n in names)}
        )
    window = start_window(change)
    at = now or timezone.now()
    if window is None or not window[0] <= at <= window[1]:
        raise OutsideWindow(
            _(
                "The approved window is %(start)s to %(end)s (start accepted from %(grace)s minutes before); reschedule the change to start at another time."
            )
            % {
                "start": _when(change.planned_start),
                "end": _when(change.planned_end),
                "grace": settings.START_GRACE_MINUTES,
            }
        )


def _when(value: datetime | None) -> str:
    if value is None:
        return _("(not set)")
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


def check_complete(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.IMPLEMENTING], "complete")
    if actor.id != change.implementer_id:
        raise NotAllowed(_("Only the change's implementer may complete it."))


def awaits_review(change: ChangeRequest, review_statuses: Iterable[str]) -> bool:
    """A carried-out change with a review (emergency retrospective, post-implementation review of
    a failure) that is not yet approved cannot be closed."""
    return change.state in (ChangeState.IMPLEMENTED, ChangeState.FAILED) and any(
        status not in (StepStatus.APPROVED, StepStatus.SKIPPED) for status in review_statuses
    )


def check_feedback(actor: Actor, change: ChangeRequest, review_statuses: Iterable[str]) -> None:
    _refuse_auditor(actor)
    _require_state(change, [ChangeState.IMPLEMENTED, ChangeState.FAILED], "close")
    if actor.id not in (change.implementer_id, change.requester_id):
        raise NotAllowed(_("Only the implementer or the requester may write the feedback report."))
    if awaits_review(change, review_statuses):
        raise InvalidTransition(
            _("This change is closed only after its review is approved by the CAB.")
        )


def check_comment(actor: Actor, change: ChangeRequest) -> None:
    _refuse_auditor(actor)
    if change.state in TERMINAL_STATES:
        raise InvalidTransition(
            _("The change is %(state)s; it takes no more comments or files.")
            % {"state": change.get_state_display().lower()}
        )


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


def blackouts_overlapping(
    windows: Iterable[tuple[str, datetime, datetime, frozenset[int]]],
    department_ids: Iterable[int],
    start: datetime,
    end: datetime,
) -> list[tuple[str, datetime, datetime]]:
    """Blackout windows overlapping [start, end) that apply to any of the departments."""
    departments = set(department_ids)
    return [
        (name, starts, ends)
        for name, starts, ends, window_departments in windows
        if starts < end
        and start < ends
        and (not window_departments or window_departments & departments)
    ]


def change_warnings(
    change: ChangeRequest,
    *,
    windows: Iterable[tuple[str, datetime, datetime, frozenset[int]]],
    department_ids: Iterable[int],
    conflict_with: int | None,
    route: Iterable[ApprovalStep],
    now: datetime,
) -> list[dict]:
    """What an approver must know before deciding: a planned window overlapping a blackout,
    another change on the same department in an overlapping window, an approved window already
    past, a step nobody is eligible to decide."""
    warnings: list[dict] = []
    start, end = change.planned_start, change.planned_end
    if start is not None and end is not None:
        for name, starts, ends in blackouts_overlapping(windows, department_ids, start, end):
            warnings.append(
                {
                    "kind": "blackout",
                    "detail": _("The planned window overlaps the blackout window “%(name)s”.")
                    % {"name": reader_name(name)},
                    "window": name,
                    "starts_at": starts,
                    "ends_at": ends,
                }
            )
        if conflict_with is not None:
            warnings.append(
                {
                    # Not named: the viewer may have no need to know the other change; the
                    # change page lists the conflicts each viewer may see.
                    "kind": "conflict",
                    "detail": _(
                        "Another scheduled change on one of the same departments overlaps this window."
                    ),
                }
            )
        if change.state == ChangeState.APPROVED and end < now:
            warnings.append(
                {
                    "kind": "outside_window",
                    "detail": _("The approved window is over; reschedule the change to start it."),
                }
            )
    for step in route:
        if step.status == StepStatus.PENDING and step.no_eligible_at is not None:
            warnings.append(
                {
                    "kind": "no_eligible_approver",
                    "detail": _(
                        "Nobody may decide the step “%(step)s” under the segregation rules; a change manager must reassign it."
                    )
                    % {"step": localized(step)},
                    "step": step.pk,
                }
            )
    return warnings


def quorum_needed(quorum: str, route_seats: int) -> int:
    if quorum == "any":
        return 1
    if quorum == "all":
        return max(route_seats, 1)
    return max(1, min(int(quorum), route_seats))


def step_is_met(open_step: OpenStep, ineligible: Iterable[int] = ()) -> bool:
    """Approvals reach the quorum, or an escalation target approved (they decide alone).
    Seats whose holder may not decide (`ineligible`) do not count towards `all`."""
    approvals = [s for s, d in open_step.decided.items() if d == DecisionKind.APPROVE]
    if any(open_step.seats.get(s) == ApproverSource.ESCALATION for s in approvals):
        return True
    out = set(ineligible) - set(approvals)
    route_seats = sum(
        1
        for user, src in open_step.seats.items()
        if src == ApproverSource.ROUTE and user not in out
    )
    route_approvals = sum(1 for s in approvals if open_step.seats.get(s) == ApproverSource.ROUTE)
    return route_approvals >= quorum_needed(open_step.step.quorum, route_seats)


# States in which an action can possibly be allowed; each check refuses every other state
# itself, so consulting this first only saves building refusals that a list would throw away.
POSSIBLE_IN: dict[str, frozenset[str]] = {
    "edit": frozenset({ChangeState.DRAFT}),
    "submit": frozenset({ChangeState.DRAFT}),
    "assess": frozenset({ChangeState.SUBMITTED}),
    "approve": frozenset({*APPROVAL_STATES, ChangeState.IMPLEMENTED, ChangeState.FAILED}),
    "reassign": frozenset({*APPROVAL_STATES, ChangeState.IMPLEMENTED, ChangeState.FAILED}),
    "reschedule": frozenset({ChangeState.APPROVED}),
    "withdraw": frozenset(OPEN_STATES),
    "start": frozenset({ChangeState.APPROVED}),
    "complete": frozenset({ChangeState.IMPLEMENTING}),
    "feedback": frozenset({ChangeState.IMPLEMENTED, ChangeState.FAILED}),
}


def allowed_actions(
    actor: Actor,
    change: ChangeRequest,
    open_step: OpenStep | None,
    *,
    review_statuses: Iterable[str] = (),
    blackout_names: Iterable[str] = (),
    now: datetime | None = None,
) -> list[str]:
    """The actions `actor` may take on `change` now, by the same checks the services run."""
    if actor.is_auditor:
        return []
    reviews = list(review_statuses)
    checks: dict[str, Callable[[], object]] = {
        "edit": lambda: check_edit(actor, change),
        "submit": lambda: check_submit(actor, change),
        "assess": lambda: check_assess(actor, change),
        "approve": lambda: decision_seat(actor, change, open_step),
        "reassign": lambda: _check_reassign_open(actor, change, open_step),
        "reschedule": lambda: check_reschedule(actor, change),
        "withdraw": lambda: check_withdraw(actor, change),
        "start": lambda: check_start(actor, change, blackout_names, now=now),
        "complete": lambda: check_complete(actor, change),
        "feedback": lambda: check_feedback(actor, change, reviews),
        "comment": lambda: check_comment(actor, change),
    }
    allowed: list[str] = []
    for action, check in checks.items():
        states = POSSIBLE_IN.get(action)
        if states is not None and change.state not in states:
            continue  # the check would refuse on the state: skip building its message
        try:
            check()
        except (NotAllowed, InvalidTransition):
            continue
        if action == "approve":
            assert open_step is not None
            allowed += ["approve", "request_info"]
            if open_step.step.kind != StepKind.RETROSPECTIVE:
                allowed.append("reject")
        elif action == "assess":
            allowed += ["assess", "reject", "request_info"]
        else:
            allowed.append(action)
    return [a for a in ACTIONS if a in allowed]


def _check_reassign_open(actor: Actor, change: ChangeRequest, open_step: OpenStep | None) -> None:
    check_reassign(actor, change)
    if open_step is None:
        raise InvalidTransition(_("No step is open."))


__all__ = [
    "ACTIONS",
    "APPROVAL_KINDS",
    "Actor",
    "RoundDecision",
    "OpenStep",
    "Seat",
    "StepStatus",
    "allowed_actions",
    "blackouts_in_force",
    "blackouts_overlapping",
    "change_key",
    "change_warnings",
    "can_view",
    "awaits_review",
    "check_assess",
    "check_assessment_decision",
    "check_decision_kind",
    "check_reassign",
    "check_reassign_target",
    "check_reschedule",
    "check_comment",
    "check_complete",
    "check_create",
    "check_edit",
    "check_feedback",
    "check_start",
    "check_submit",
    "check_withdraw",
    "decision_seat",
    "exclusion_message",
    "exclusions",
    "is_private_draft",
    "require_open_step",
    "start_window",
    "quorum_needed",
    "step_is_met",
]
