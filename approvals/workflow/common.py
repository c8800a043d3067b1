"""Shared pieces of the workflow services: the change row lock, finishing an action, and
opening and closing route steps."""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from approvals import outbox, routing
from approvals.choices import StepKind, StepStatus
from approvals.exceptions import InvalidInput, NotFound, VersionMismatch
from approvals.models import (
    ApprovalStep,
    ChangeRequest,
    Decision,
    Department,
    Profile,
    StepApprover,
)
from approvals.policy import Actor, can_view, check_comment


def lock_change(change_id: int, expected_version: int | None = None) -> ChangeRequest:
    # The row lock serialises every action on one change: two people acting at once never
    # produce two transitions, quorum counting sees every earlier decision, and the change's
    # audit chain gets one head at a time.
    try:
        change = ChangeRequest.objects.select_for_update(of=("self",)).get(pk=change_id)
    except (ChangeRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such change.")) from None
    check_version(change, expected_version)
    return change


def check_version(change: ChangeRequest, expected_version: int | None) -> None:
    """An action sent for a version the change has moved on from changes nothing (If-Match)."""
    if expected_version is not None and change.version != expected_version:
        raise VersionMismatch(
            _("The change has moved on (version %(now)s, not %(sent)s); reload it and try again.")
            % {"now": change.version, "sent": expected_version},
            version=change.version,
        )


def involved_ids(change: ChangeRequest) -> set[int]:
    """Everyone named on the change's route in any round, and everyone who decided a step."""
    seats = StepApprover.objects.filter(step__change=change).values_list("user_id", flat=True)
    deciders = Decision.objects.filter(step__change=change).values_list("approver_id", flat=True)
    return set(seats.order_by().union(deciders.order_by()))


def lock_for_contribution(change_id: int, who: Actor) -> ChangeRequest:
    """Lock a change someone adds to (comment, attachment): whoever can see it, except auditors,
    while it is not closed."""
    change = lock_change(change_id)
    if not can_view(who, change, involved_ids(change)):
        raise NotFound(_("No such change."))
    check_comment(who, change)
    return change


def finish(change: ChangeRequest) -> None:
    change.version += 1
    change.save()
    outbox.events_recorded()


def requester_department(user_id: int) -> Department | None:
    profile = Profile.objects.select_related("department").filter(user_id=user_id).first()
    return profile.department if profile else None


# --- drafts --------------------------------------------------------------------------------


def open_route(change: ChangeRequest, *, now: datetime) -> dict[str, Any]:
    policy = routing.policy_for_change(change)
    departments = list(change.departments.all())
    planned = routing.plan_route(
        change=change,
        policy=policy,
        departments=departments,
        requester_department=requester_department(change.requester_id),
    )
    if not planned or planned[0].template.kind == StepKind.RETROSPECTIVE:
        raise InvalidInput(_("Policy “%(p)s” has no approval step.") % {"p": policy.name})
    steps = routing.create_steps(change=change, planned=planned, now=now)
    change.policy_name = policy.name
    change.policy_name_zh = policy.name_zh
    unstaffed = {"no_eligible_approver": steps[0].name} if planned[0].unstaffed else {}
    return unstaffed | {
        "policy": policy.name,
        "route": [
            {
                "order": s.order,
                "name": s.name,
                "kind": s.kind,
                "quorum": s.quorum,
                "escalated": s.escalated_at is not None,
            }
            for s in steps
        ],
        "opened_step": steps[0].pk,
    }


def close_step(step: ApprovalStep, status: str, now: datetime) -> None:
    step.status = status
    step.decided_at = now
    step.save(update_fields=["status", "decided_at"])


def skip_rest(change: ChangeRequest, *, exclude: int | None = None) -> None:
    rest = ApprovalStep.objects.filter(
        change=change, round=change.round, status__in=[StepStatus.WAITING, StepStatus.PENDING]
    )
    if exclude is not None:
        rest = rest.exclude(pk=exclude)
    rest.update(status=StepStatus.SKIPPED)
