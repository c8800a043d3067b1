"""Transitions of a change outside its approval steps: submit, assess, withdraw, start,
complete and the feedback report."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit
from approvals.choices import ChangeType, Impact, Outcome, Risk, StepKind, StepStatus
from approvals.exceptions import InvalidInput
from approvals.models import ApprovalStep, ChangeRequest
from approvals.policy import (
    blackouts_in_force,
    check_assess,
    check_complete,
    check_feedback,
    check_start,
    check_submit,
    check_withdraw,
)
from approvals.selectors import blackout_windows, load_actor
from approvals.workflow.common import finish, lock_change, open_route, open_waiting_step, skip_rest
from approvals.workflow.drafts import missing_before_submit


def change_submit(*, actor: User, change_id: int) -> ChangeRequest:
    """Submit a draft: normal → submitted; emergency → ECAB step opens; standard → approved."""
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_change(change_id)
        check_submit(who, change)
        errors = missing_before_submit(change)
        if errors:
            raise InvalidInput(errors)
        before = change.state
        data: dict[str, Any] = {}
        if change.change_type == ChangeType.EMERGENCY:
            data = open_route(change, now=timezone.now())
        change.submit()
        if change.change_type == ChangeType.STANDARD:
            data = {"pre_approved": True, "template": change.template_id}
        audit.change_transitioned(
            action="submitted", change=change, actor=actor, from_state=before, data=data
        )
        finish(change)
    return change


def change_assess(
    *, actor: User, change_id: int, impact: str, risk: str, notes: str = ""
) -> ChangeRequest:
    """Preliminary assessment: sets impact and risk, picks the route and opens its first step."""
    who = load_actor(actor)
    errors: dict[str, list[str]] = {}
    if impact not in Impact.values:
        errors["impact"] = [_("Choose one of: %s.") % ", ".join(Impact.values)]
    if risk not in Risk.values:
        errors["risk"] = [_("Choose one of: %s.") % ", ".join(Risk.values)]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        change = lock_change(change_id)
        check_assess(who, change)
        before = change.state
        change.assess(assessor_id=actor.pk, impact=impact, risk=risk, notes=notes)
        if change.impact in (Impact.HIGH, Impact.CRITICAL):
            missing = missing_before_submit(change)
            if missing:
                raise InvalidInput(missing)
        data = open_route(change, now=timezone.now())
        change.open_route(first_kind=data["route"][0]["kind"])
        data |= {"impact": impact, "risk": risk, "notes": notes}
        audit.change_transitioned(
            action="assessed", change=change, actor=actor, from_state=before, data=data
        )
        finish(change)
    return change


def change_withdraw(*, actor: User, change_id: int, comment: str = "") -> ChangeRequest:
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_change(change_id)
        check_withdraw(who, change)
        before = change.state
        skip_rest(change)
        change.withdraw()
        audit.change_transitioned(
            action="withdrawn",
            change=change,
            actor=actor,
            from_state=before,
            data={"comment": comment},
        )
        finish(change)
    return change


def change_start(*, actor: User, change_id: int) -> ChangeRequest:
    who = load_actor(actor)
    now = timezone.now()
    with transaction.atomic():
        change = lock_change(change_id)
        in_force = blackouts_in_force(
            blackout_windows(now), change.departments.values_list("pk", flat=True), now
        )
        check_start(who, change, in_force)
        before = change.state
        change.start()
        data = {"blackout_override": in_force} if in_force else {}
        audit.change_transitioned(
            action="started", change=change, actor=actor, from_state=before, data=data
        )
        finish(change)
    return change


def change_complete(*, actor: User, change_id: int, outcome: str, notes: str = "") -> ChangeRequest:
    if outcome not in Outcome.values:
        raise InvalidInput({"outcome": [_("Choose success or failed.")]})
    who = load_actor(actor)
    now = timezone.now()
    with transaction.atomic():
        change = lock_change(change_id)
        check_complete(who, change)
        before = change.state
        change.complete(outcome=outcome, notes=notes)
        data: dict[str, Any] = {"outcome": outcome, "notes": notes}
        if change.change_type == ChangeType.EMERGENCY:
            review = (
                ApprovalStep.objects.filter(
                    change=change,
                    round=change.round,
                    kind=StepKind.RETROSPECTIVE,
                    status=StepStatus.WAITING,
                )
                .order_by("order")
                .first()
            )
            if review is not None:
                open_waiting_step(review, now)
                data |= {"opened_step": review.pk, "opened_step_name": review.name}
        audit.change_transitioned(
            action="completed", change=change, actor=actor, from_state=before, data=data
        )
        finish(change)
    return change


def change_feedback(
    *, actor: User, change_id: int, summary: str, lessons: str = ""
) -> ChangeRequest:
    if not (summary or "").strip():
        raise InvalidInput({"summary": [_("The feedback report needs a summary.")]})
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_change(change_id)
        reviewed = ApprovalStep.objects.filter(
            change=change,
            round=change.round,
            kind=StepKind.RETROSPECTIVE,
            status=StepStatus.APPROVED,
        ).exists()
        check_feedback(who, change, reviewed)
        before = change.state
        change.close(summary=summary.strip(), lessons=(lessons or "").strip())
        audit.change_transitioned(
            action="closed",
            change=change,
            actor=actor,
            from_state=before,
            data={"summary": change.feedback_summary, "lessons": change.feedback_lessons},
        )
        finish(change)
    return change
