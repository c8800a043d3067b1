"""A change manager moves a seat of an open step to another person, under every rule."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from approvals import audit
from approvals.choices import ApproverSource, AuditAction, StepStatus
from approvals.exceptions import InvalidInput
from approvals.limits import NOTE_MAX, checked_text
from approvals.models import ApprovalStep, ChangeRequest, StepApprover
from approvals.policy import OpenStep, check_reassign, check_reassign_target, require_open_step
from approvals.selectors import load_actor
from approvals.workflow.common import finish, lock_change
from approvals.workflow.staffing import round_decisions


def step_reassign(
    *,
    actor: User,
    change_id: int,
    step_id: int | None,
    from_user: str = "",
    to_user: str,
    reason: str,
    expected_version: int | None = None,
) -> ChangeRequest:
    """Move `from_user`'s undecided seat on the open step to `to_user` (or, on a step flagged
    with no eligible approver, seat `to_user`). The new approver must be eligible under the
    segregation rules like anyone else; the reason is recorded."""
    errors: dict[str, list[str]] = {}
    reason, problem = checked_text(
        reason, limit=NOTE_MAX, required=True, required_message=_("Say why the seat moves.")
    )
    if problem:
        errors["reason"] = [problem]
    if not to_user:
        errors["to"] = [_("Name the person who takes the seat.")]
    if errors:
        raise InvalidInput(errors)
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        check_reassign(who, change)
        step = (
            ApprovalStep.objects.filter(
                change=change, round=change.round, status=StepStatus.PENDING
            )
            .order_by("order")
            .first()
        )
        decisions = round_decisions(change)
        seats = (
            dict(StepApprover.objects.filter(step=step).values_list("user_id", "source"))
            if step
            else {}
        )
        decided = {d.seat_id: d.decision for d in decisions if step and d.step_id == step.pk}
        open_step = OpenStep(step, seats, decided, decisions) if step else None
        require_open_step(open_step, step_id)
        assert open_step is not None and step is not None
        target = User.objects.filter(username=to_user, is_active=True).first()
        if target is None:
            raise InvalidInput({"to": [_("No active user %(name)s.") % {"name": to_user}]})
        check_reassign_target(
            change, open_step, target.pk, target.groups.values_list("name", flat=True)
        )
        seat = _seat_to_move(step, from_user, seats, decided)
        if seat is None:
            StepApprover.objects.create(step=step, user=target, source=ApproverSource.ROUTE)
        else:
            # A moved seat is an ordinary seat of the step: an escalation target decides alone,
            # and that standing is not something a change manager hands to someone else.
            seat.user, seat.source = target, ApproverSource.ROUTE
            seat.save(update_fields=["user", "source"])
        step.no_eligible_at = None
        step.save(update_fields=["no_eligible_at"])
        audit.change_transitioned(
            action=AuditAction.REASSIGNED,
            change=change,
            actor=actor,
            from_state=change.state,
            data={
                "step": step.order,
                "step_id": step.pk,
                "step_name": step.name,
                "from": from_user or None,
                "to": target.get_username(),
                "reason": reason,
            },
        )
        finish(change)
    return change


def _seat_to_move(
    step: ApprovalStep, from_user: str, seats: dict[int, str], decided: dict[int, str]
) -> StepApprover | None:
    if not from_user:
        if step.no_eligible_at is None and seats:
            raise InvalidInput({"from": [_("Name the approver whose seat moves.")]})
        return None
    seat = StepApprover.objects.filter(step=step, user__username=from_user).first()
    if seat is None:
        raise InvalidInput(
            {"from": [_("%(name)s holds no seat on this step.") % {"name": from_user}]}
        )
    if seat.user_id in decided:
        raise InvalidInput(
            {"from": [_("%(name)s has already decided this step.") % {"name": from_user}]}
        )
    return seat
