"""Shared pieces of the workflow services: the change row lock, finishing an action, and
opening and closing route steps."""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from approvals import outbox, routing
from approvals.choices import StepKind, StepStatus
from approvals.exceptions import InvalidInput, NotFound
from approvals.models import ApprovalStep, ChangeRequest, Department, Profile, StepApprover
from approvals.policy import Actor, can_view, check_comment


def lock_change(change_id: int) -> ChangeRequest:
    # The row lock serialises every action on one change: two people acting at once never
    # produce two transitions, quorum counting sees every earlier decision, and the change's
    # audit chain gets one head at a time.
    try:
        return ChangeRequest.objects.select_for_update(of=("self",)).get(pk=change_id)
    except (ChangeRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such change.")) from None


def lock_for_contribution(change_id: int, who: Actor) -> ChangeRequest:
    """Lock a change someone adds to (comment, attachment): whoever can see it, except auditors."""
    change = lock_change(change_id)
    seat_ids = StepApprover.objects.filter(step__change=change).values_list("user_id", flat=True)
    if not can_view(who, change, seat_ids):
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
    return {
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


def open_waiting_step(step: ApprovalStep, now: datetime) -> None:
    step.status = StepStatus.PENDING
    step.opened_at = now
    step.due_at = routing.due_at(now, step.sla_hours)
    update = ["status", "opened_at", "due_at"]
    if step.escalated_at is not None:  # nobody but the escalation target may decide it
        step.escalated_at = now
        update.append("escalated_at")
    step.save(update_fields=update)


def skip_rest(change: ChangeRequest, *, exclude: int | None = None) -> None:
    rest = ApprovalStep.objects.filter(
        change=change, round=change.round, status__in=[StepStatus.WAITING, StepStatus.PENDING]
    )
    if exclude is not None:
        rest = rest.exclude(pk=exclude)
    rest.update(status=StepStatus.SKIPPED)
