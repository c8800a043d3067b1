"""Transitions of a change outside its approval steps: submit, assess, reschedule, withdraw,
start, complete and the feedback report."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit
from approvals.choices import (
    ApproverRule,
    ApproverSource,
    AuditAction,
    ChangeType,
    Impact,
    Outcome,
    Risk,
    Role,
    StepKind,
    StepStatus,
)
from approvals.exceptions import InvalidInput
from approvals.fields import check_window
from approvals.limits import NOTE_MAX, checked_text, clean_text
from approvals.models import ApprovalStep, ChangeRequest, StepApprover
from approvals.policy import (
    blackouts_in_force,
    check_assess,
    check_complete,
    check_feedback,
    check_reschedule,
    check_start,
    check_submit,
    check_withdraw,
    exclusions,
)
from approvals.selectors import blackout_windows, load_actor
from approvals.templates import apply_template
from approvals.workflow.common import finish, lock_change, open_route, skip_rest
from approvals.workflow.drafts import missing_before_submit
from approvals.workflow.staffing import open_step, round_decisions, step_seats

# The post-implementation review a failed change gets when its route has none: the CAB decides
# it (never its implementer or requester), within the retrospective SLA of the default policy.
REVIEW_NAME = "Post-implementation review"
REVIEW_NAME_ZH = "实施后评审"
REVIEW_SLA_HOURS = 120


def change_submit(
    *, actor: User, change_id: int, expected_version: int | None = None
) -> ChangeRequest:
    """Submit a draft: normal → submitted; emergency → ECAB step opens; standard → approved,
    exactly as its approved template says."""
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        check_submit(who, change)
        template_data = apply_template(change) if change.change_type == ChangeType.STANDARD else {}
        errors = missing_before_submit(change)
        if errors:
            raise InvalidInput(errors)
        before = change.state
        data: dict[str, Any] = {}
        if change.change_type == ChangeType.EMERGENCY:
            data = open_route(change, now=timezone.now())
        change.submit()
        if change.change_type == ChangeType.STANDARD:
            data = {"pre_approved": True, "template": template_data}
        audit.change_transitioned(
            action=AuditAction.SUBMITTED, change=change, actor=actor, from_state=before, data=data
        )
        finish(change)
    return change


def change_assess(
    *,
    actor: User,
    change_id: int,
    impact: str,
    risk: str,
    notes: str = "",
    expected_version: int | None = None,
) -> ChangeRequest:
    """Preliminary assessment: sets impact and risk, picks the route and opens its first step."""
    who = load_actor(actor)
    errors: dict[str, list[str]] = {}
    if impact not in Impact.values:
        errors["impact"] = [_("Choose one of: %s.") % ", ".join(Impact.values)]
    if risk not in Risk.values:
        errors["risk"] = [_("Choose one of: %s.") % ", ".join(Risk.values)]
    notes, problem = checked_text(notes, limit=NOTE_MAX)
    if problem:
        errors["notes"] = [problem]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        check_assess(who, change)
        before = change.state
        change.assess(assessor_id=actor.pk, impact=impact, risk=risk, notes=notes)
        if change.impact in (Impact.HIGH, Impact.CRITICAL):
            missing = missing_before_submit(change)
            if missing:
                missing["detail"] = [
                    _(
                        "At this impact the change needs backout and test plans: send it back to the requester (request information)."
                    )
                ]
                raise InvalidInput(missing)
        data = open_route(change, now=timezone.now())
        change.open_route(first_kind=data["route"][0]["kind"])
        data |= {"impact": impact, "risk": risk, "notes": notes}
        audit.change_transitioned(
            action=AuditAction.ASSESSED, change=change, actor=actor, from_state=before, data=data
        )
        finish(change)
    return change


def change_reschedule(
    *,
    actor: User,
    change_id: int,
    planned_start: datetime,
    planned_end: datetime,
    reason: str,
    expected_version: int | None = None,
) -> ChangeRequest:
    """Move the window of an approved change. The approval was for the old window, so a new final
    approval opens for the new one (a pre-approved standard change keeps its approval)."""
    errors = check_window(planned_start, planned_end, future=True)
    reason, problem = checked_text(
        reason, limit=NOTE_MAX, required=True, required_message=_("Say why the window moves.")
    )
    if problem:
        errors["reason"] = [problem]
    if errors:
        raise InvalidInput(errors)
    who = load_actor(actor)
    now = timezone.now()
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        check_reschedule(who, change)
        before = change.state
        data: dict[str, Any] = {
            "old": _window(change.planned_start, change.planned_end),
            "new": _window(planned_start, planned_end),
            "reason": reason,
        }
        if change.change_type == ChangeType.STANDARD:
            change.planned_start, change.planned_end = planned_start, planned_end
            data["pre_approved"] = True
        else:
            final = (
                ApprovalStep.objects.filter(change=change, round=change.round, kind=StepKind.FINAL)
                .order_by("-order")
                .first()
            )
            if final is None:
                raise InvalidInput(_("This change has no final approval to re-open."))
            voided = final.decisions.filter(voided=False).update(voided=True)
            change.reschedule(planned_start=planned_start, planned_end=planned_end)
            again = _superseding_step(final)
            staffed = open_step(
                change=change,
                step=again,
                seats=step_seats(again),
                decisions=round_decisions(change),
                now=now,
            )
            data |= {
                "superseded_step": final.pk,
                "reopened_step": again.pk,
                "opened_step": again.pk,
                "opened_step_name": again.name,
                "decisions_voided": voided,
                **staffed,
            }
        audit.change_transitioned(
            action=AuditAction.RESCHEDULED,
            change=change,
            actor=actor,
            from_state=before,
            data=data,
        )
        finish(change)
    return change


def _superseding_step(final: ApprovalStep) -> ApprovalStep:
    """The final approval for a new window is a step of its own, with the same seats: a decision,
    a form or an e-mail link bound to the old one is stale and can never approve the new window."""
    final.status = StepStatus.SKIPPED
    final.save(update_fields=["status"])
    last = (
        ApprovalStep.objects.filter(change_id=final.change_id, round=final.round)
        .order_by("-order")
        .values_list("order", flat=True)
        .first()
    )
    again = ApprovalStep.objects.create(
        change_id=final.change_id,
        round=final.round,
        order=(last or final.order) + 1,
        name=final.name,
        kind=final.kind,
        approver_rule=final.approver_rule,
        quorum=final.quorum,
        sla_hours=final.sla_hours,
        escalation_group_id=final.escalation_group_id,
        status=StepStatus.WAITING,
    )
    StepApprover.objects.bulk_create(
        StepApprover(step=again, user_id=seat.user_id, source=seat.source)
        for seat in final.seats.all()
    )
    return again


def _window(start: datetime | None, end: datetime | None) -> dict[str, str | None]:
    return {
        "planned_start": start.isoformat() if start else None,
        "planned_end": end.isoformat() if end else None,
    }


def change_withdraw(
    *, actor: User, change_id: int, comment: str = "", expected_version: int | None = None
) -> ChangeRequest:
    comment = clean_text(comment, field="comment", limit=NOTE_MAX)
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        check_withdraw(who, change)
        before = change.state
        skip_rest(change)
        change.withdraw()
        audit.change_transitioned(
            action=AuditAction.WITHDRAWN,
            change=change,
            actor=actor,
            from_state=before,
            data={"comment": comment},
        )
        finish(change)
    return change


def change_start(
    *, actor: User, change_id: int, expected_version: int | None = None
) -> ChangeRequest:
    """Start implementing, inside the approved window and outside blackouts (emergencies may
    start at once)."""
    who = load_actor(actor)
    now = timezone.now()
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        in_force = blackouts_in_force(
            blackout_windows(now), change.departments.values_list("pk", flat=True), now
        )
        check_start(who, change, in_force, now=now)
        before = change.state
        change.start()
        data = {"blackout_override": in_force} if in_force else {}
        audit.change_transitioned(
            action=AuditAction.STARTED, change=change, actor=actor, from_state=before, data=data
        )
        finish(change)
    return change


def change_complete(
    *,
    actor: User,
    change_id: int,
    outcome: str,
    notes: str = "",
    expected_version: int | None = None,
) -> ChangeRequest:
    """Record the outcome. Every emergency change and every failed change gets its review."""
    if outcome not in Outcome.values:
        raise InvalidInput({"outcome": [_("Choose success or failed.")]})
    notes = clean_text(notes, field="notes", limit=NOTE_MAX)
    who = load_actor(actor)
    now = timezone.now()
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        check_complete(who, change)
        before = change.state
        change.complete(outcome=outcome, notes=notes)
        data: dict[str, Any] = {"outcome": outcome, "notes": notes}
        if change.change_type == ChangeType.EMERGENCY or outcome == Outcome.FAILED:
            data |= _open_review(change, now)
        audit.change_transitioned(
            action=AuditAction.COMPLETED, change=change, actor=actor, from_state=before, data=data
        )
        if change.change_type == ChangeType.STANDARD and outcome == Outcome.FAILED:
            _suspend_template(change)
        finish(change)
    return change


def _open_review(change: ChangeRequest, now: datetime) -> dict[str, Any]:
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
    if review is None:
        review = _new_review_step(change)
    staffed = open_step(
        change=change,
        step=review,
        seats=step_seats(review),
        decisions=round_decisions(change),
        now=now,
    )
    return {"opened_step": review.pk, "opened_step_name": review.name, **staffed}


def _new_review_step(change: ChangeRequest) -> ApprovalStep:
    """A post-implementation review decided by the CAB, escalating to the change managers."""
    last = (
        ApprovalStep.objects.filter(change=change, round=change.round)
        .order_by("-order")
        .values_list("order", flat=True)
        .first()
    )
    step = ApprovalStep.objects.create(
        change=change,
        round=change.round,
        order=(last or 0) + 1,
        name=REVIEW_NAME,
        name_zh=REVIEW_NAME_ZH,
        kind=StepKind.RETROSPECTIVE,
        approver_rule=ApproverRule.GROUPS,
        quorum="any",
        sla_hours=REVIEW_SLA_HOURS,
        escalation_group=Group.objects.filter(name=Role.CHANGE_MANAGER).first(),
    )
    excluded = exclusions(change, step_id=step.pk, step_kind=step.kind)
    cab = (
        User.objects.filter(groups__name=Role.CAB, is_active=True)
        .exclude(pk__in=list(excluded))
        .values_list("pk", flat=True)
    )
    StepApprover.objects.bulk_create(
        StepApprover(step=step, user_id=pk, source=ApproverSource.ROUTE) for pk in cab
    )
    return step


def _suspend_template(change: ChangeRequest) -> None:
    from approvals.workflow.templates import template_suspend

    if change.template_id is not None:
        template_suspend(
            template_id=change.template_id,
            reason=_("A standard change created from it failed: %(key)s.") % {"key": change.key},
            change_id=change.pk,
        )


def change_feedback(
    *,
    actor: User,
    change_id: int,
    summary: str,
    lessons: str = "",
    expected_version: int | None = None,
) -> ChangeRequest:
    summary = clean_text(
        summary,
        field="summary",
        limit=NOTE_MAX,
        required=True,
        required_message=_("The feedback report needs a summary."),
    )
    lessons = clean_text(lessons, field="lessons", limit=NOTE_MAX)
    who = load_actor(actor)
    with transaction.atomic():
        change = lock_change(change_id, expected_version)
        reviews = ApprovalStep.objects.filter(
            change=change, round=change.round, kind=StepKind.RETROSPECTIVE
        ).values_list("status", flat=True)
        check_feedback(who, change, list(reviews))
        before = change.state
        change.close(summary=summary, lessons=lessons)
        audit.change_transitioned(
            action=AuditAction.CLOSED,
            change=change,
            actor=actor,
            from_state=before,
            data={"summary": change.feedback_summary, "lessons": change.feedback_lessons},
        )
        finish(change)
    return change
