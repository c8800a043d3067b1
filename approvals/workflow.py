"""The one way to change a change. Every action: lock the row, check the rules, run the
transition, save, record the audit event, queue side effects for after commit."""

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit, outbox, routing
from approvals.choices import (
    ChangeState,
    ChangeType,
    DecisionKind,
    Impact,
    Outcome,
    Risk,
    Role,
    StepKind,
    StepStatus,
)
from approvals.exceptions import InvalidInput, InvalidTransition, NotFound
from approvals.fields import clean_change_fields
from approvals.models import (
    ApprovalStep,
    Attachment,
    ChangeRequest,
    Comment,
    Decision,
    Delegation,
    Department,
    Profile,
    StepApprover,
)
from approvals.policy import (
    Actor,
    OpenStep,
    blackouts_in_force,
    can_view,
    check_assess,
    check_comment,
    check_complete,
    check_create,
    check_edit,
    check_feedback,
    check_start,
    check_submit,
    check_withdraw,
    decision_seat,
    step_is_met,
)
from approvals.selectors import blackout_windows, load_actor


def _lock(change_id: int) -> ChangeRequest:
    # The row lock serialises every action on one change: two people acting at once never
    # produce two transitions, quorum counting sees every earlier decision, and the change's
    # audit chain gets one head at a time.
    try:
        return ChangeRequest.objects.select_for_update(of=("self",)).get(pk=change_id)
    except (ChangeRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such change.")) from None


def _lock_for_contribution(change_id: int, who: Actor) -> ChangeRequest:
    """Lock a change someone adds to (comment, attachment): whoever can see it, except auditors."""
    change = _lock(change_id)
    seat_ids = StepApprover.objects.filter(step__change=change).values_list("user_id", flat=True)
    if not can_view(who, change, seat_ids):
        raise NotFound(_("No such change."))
    check_comment(who, change)
    return change


def _finish(change: ChangeRequest) -> None:
    change.version += 1
    change.save()
    outbox.events_recorded()


def _requester_department(user_id: int) -> Department | None:
    profile = Profile.objects.select_related("department").filter(user_id=user_id).first()
    return profile.department if profile else None


# --- drafts --------------------------------------------------------------------------------


def change_create(*, actor: User, data: dict[str, Any]) -> ChangeRequest:
    """Create a draft owned by `actor` from API-shaped field values."""
    who = load_actor(actor)
    check_create(who)
    own_department = _requester_department(actor.pk)
    fields, departments = clean_change_fields(data, partial=False, own_department=own_department)
    with transaction.atomic():
        change = ChangeRequest(requester=actor, **fields)
        change.save()
        change.departments.set(departments or [])
        audit.change_created(change=change, actor=actor, fields=_describe(fields, departments))
        change.save(update_fields=["audit_length", "audit_head"])
        outbox.events_recorded()
    return change


def change_update(*, actor: User, change_id: int, data: dict[str, Any]) -> ChangeRequest:
    """The requester edits their draft; records what changed, old and new."""
    who = load_actor(actor)
    with transaction.atomic():
        change = _lock(change_id)
        check_edit(who, change)
        own_department = _requester_department(change.requester_id)
        fields, departments = clean_change_fields(
            data, partial=True, own_department=own_department, current=change
        )
        diff: dict[str, Any] = {}
        for name, value in fields.items():
            old = getattr(change, name)
            if old != value:
                diff[name] = {"old": _display(old), "new": _display(value)}
                setattr(change, name, value)
        if departments is not None:
            old_codes = sorted(change.departments.values_list("code", flat=True))
            new_codes = sorted(d.code for d in departments)
            if old_codes != new_codes:
                change.departments.set(departments)
                diff["departments"] = {"old": old_codes, "new": new_codes}
        if diff:
            audit.change_edited(change=change, actor=actor, changes=diff)
            _finish(change)
    return change


def _display(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return getattr(value, "username", None) or getattr(value, "name", None) or value.pk
    return value


def _describe(fields: dict[str, Any], departments: list[Department] | None) -> dict[str, Any]:
    described = {name: _display(value) for name, value in fields.items()}
    if departments is not None:
        described["departments"] = sorted(d.code for d in departments)
    return described


def _missing_before_submit(change: ChangeRequest) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if change.impact in (Impact.HIGH, Impact.CRITICAL):
        for name in ("backout_plan", "test_plan"):
            if not getattr(change, name).strip():
                errors[name] = [_("Required before submitting a high or critical impact change.")]
    if change.change_type == ChangeType.STANDARD and (
        change.template is None or not change.template.is_active
    ):
        errors["template"] = [_("A standard change needs an active catalogue template.")]
    return errors


# --- lifecycle -----------------------------------------------------------------------------


def change_submit(*, actor: User, change_id: int) -> ChangeRequest:
    """Submit a draft: normal → submitted; emergency → ECAB step opens; standard → approved."""
    who = load_actor(actor)
    with transaction.atomic():
        change = _lock(change_id)
        check_submit(who, change)
        errors = _missing_before_submit(change)
        if errors:
            raise InvalidInput(errors)
        before = change.state
        data: dict[str, Any] = {}
        if change.change_type == ChangeType.EMERGENCY:
            data = _open_route(change, now=timezone.now())
        change.submit()
        if change.change_type == ChangeType.STANDARD:
            data = {"pre_approved": True, "template": change.template_id}
        audit.change_transitioned(
            action="submitted", change=change, actor=actor, from_state=before, data=data
        )
        _finish(change)
    return change


def _open_route(change: ChangeRequest, *, now: datetime) -> dict[str, Any]:
    policy = routing.policy_for_change(change)
    departments = list(change.departments.all())
    planned = routing.plan_route(
        change=change,
        policy=policy,
        departments=departments,
        requester_department=_requester_department(change.requester_id),
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
        change = _lock(change_id)
        check_assess(who, change)
        before = change.state
        change.assess(assessor_id=actor.pk, impact=impact, risk=risk, notes=notes)
        if change.impact in (Impact.HIGH, Impact.CRITICAL):
            missing = _missing_before_submit(change)
            if missing:
                raise InvalidInput(missing)
        data = _open_route(change, now=timezone.now())
        change.open_route(first_kind=data["route"][0]["kind"])
        data |= {"impact": impact, "risk": risk, "notes": notes}
        audit.change_transitioned(
            action="assessed", change=change, actor=actor, from_state=before, data=data
        )
        _finish(change)
    return change


def _lock_for_decision(change_id: int, actor: User) -> ChangeRequest:
    is_auditor = User.groups.through.objects.filter(user_id=actor.pk, group__name=Role.AUDITOR)
    try:
        return (
            ChangeRequest.objects.select_for_update(of=("self",))
            .annotate(actor_is_auditor=Exists(is_auditor))
            .get(pk=change_id)
        )
    except (ChangeRequest.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such change.")) from None


def _round_steps(
    change: ChangeRequest, actor_id: int, now: datetime
) -> list[tuple[ApprovalStep, dict[int, str], dict[int, Any], set[int]]]:
    """Steps of the current round with seats (and their users) and the seats lent to the actor,
    in one query."""
    lent = Delegation.objects.filter(
        delegator_id=OuterRef("user_id"), delegate_id=actor_id, starts_at__lte=now, ends_at__gt=now
    )
    rows = (
        StepApprover.objects.filter(step__change_id=change.pk, step__round=change.round)
        .select_related("step", "user")
        .annotate(lent=Exists(lent))
        .order_by("step__order", "user_id")
    )
    steps: dict[int, tuple[ApprovalStep, dict[int, str], dict[int, Any], set[int]]] = {}
    for row in rows:
        entry = steps.setdefault(row.step_id, (row.step, {}, {}, set()))
        entry[1][row.user_id] = row.source
        entry[2][row.user_id] = row.user
        if row.lent:
            entry[3].add(row.user_id)
    return list(steps.values())


def step_decide(*, actor: User, change_id: int, decision: str, comment: str = "") -> ChangeRequest:
    """Approve, reject or request information on the open step the actor may decide."""
    if decision not in DecisionKind.values:
        raise InvalidInput({"decision": [_("Choose approve, reject or request_info.")]})
    comment = (comment or "").strip()
    if decision != DecisionKind.APPROVE and not comment:
        raise InvalidInput({"comment": [_("Say why: a comment is required.")]})
    now = timezone.now()
    with transaction.atomic():
        change = _lock_for_decision(change_id, actor)
        route = _round_steps(change, actor.pk, now)
        current = next((r for r in route if r[0].status == StepStatus.PENDING), None)
        open_step = None
        if current is not None:
            decided = dict(
                Decision.objects.filter(step_id=current[0].pk).values_list("seat_id", "decision")
            )
            open_step = OpenStep(step=current[0], seats=current[1], decided=decided)
        who = Actor(
            id=actor.pk,
            username=actor.get_username(),
            roles=frozenset({Role.AUDITOR})
            if getattr(change, "actor_is_auditor", False)
            else frozenset(),
            delegator_ids=frozenset(current[3]) if current else frozenset(),
        )
        seat = decision_seat(who, change, open_step)
        assert open_step is not None and current is not None
        step = open_step.step
        Decision.objects.create(
            step=step,
            approver=actor,
            seat_id=seat.user_id,
            on_behalf_of_id=seat.on_behalf_of_id,
            decision=decision,
            comment=comment,
            decided_at=now,
            escalated=seat.escalated,
        )
        open_step.decided[seat.user_id] = decision
        before = change.state
        outcome = _apply_decision(change, route, open_step, decision, now)
        on_behalf_of = current[2][seat.on_behalf_of_id] if seat.on_behalf_of_id else None
        audit.step_decided(
            action={"approve": "approved", "reject": "rejected", "request_info": "info_requested"}[
                decision
            ],
            change=change,
            actor=actor,
            on_behalf_of=on_behalf_of,
            from_state=before,
            data={
                "step": step.order,
                "step_name": step.name,
                "step_kind": step.kind,
                "step_id": step.pk,
                "decision": decision,
                "comment": comment,
                "escalated": seat.escalated,
                **outcome,
            },
        )
        _finish(change)
    return change


def _apply_decision(
    change: ChangeRequest, route: list, open_step: OpenStep, decision: str, now: datetime
) -> dict[str, Any]:
    step = open_step.step
    if step.kind == StepKind.RETROSPECTIVE:
        return _decide_retrospective(change, route, open_step, decision, now)
    if decision == DecisionKind.APPROVE:
        if not step_is_met(open_step):
            return {"step_met": False}
        _close_step(step, StepStatus.APPROVED, now)
        following = next(
            (
                r[0]
                for r in route
                if r[0].order > step.order and r[0].kind != StepKind.RETROSPECTIVE
            ),
            None,
        )
        if following is None:
            if change.state == ChangeState.TIER_APPROVAL:
                change.enter_final()
            change.grant()
            return {"step_met": True, "opened_step": None}
        _open_step(following, now)
        if following.kind == StepKind.FINAL and change.state == ChangeState.TIER_APPROVAL:
            change.enter_final()
        return {"step_met": True, "opened_step": following.pk, "opened_step_name": following.name}
    if decision == DecisionKind.REJECT:
        _close_step(step, StepStatus.REJECTED, now)
        _skip_rest(change, exclude=step.pk)
        change.reject()
        return {"step_met": False}
    _close_step(step, StepStatus.SKIPPED, now)
    _skip_rest(change, exclude=step.pk)
    Decision.objects.filter(step__change=change, step__round=change.round).update(voided=True)
    change.return_for_information()
    return {"step_met": False, "decisions_voided": True}


def _decide_retrospective(
    change: ChangeRequest, route: list, open_step: OpenStep, decision: str, now: datetime
) -> dict[str, Any]:
    step = open_step.step
    if decision == DecisionKind.APPROVE:
        if not step_is_met(open_step):
            return {"step_met": False}
        _close_step(step, StepStatus.APPROVED, now)
        return {"step_met": True, "retrospective_approved": True}
    # The change is already implemented: the review cannot undo it. A rejected review (or a
    # request for information) opens a fresh review, and the change stays open until one passes.
    _close_step(step, StepStatus.REJECTED, now)
    seats = next(r[1] for r in route if r[0].pk == step.pk)
    again = ApprovalStep.objects.create(
        change=change,
        round=change.round,
        order=max(r[0].order for r in route) + 1,
        name=step.name,
        kind=step.kind,
        approver_rule=step.approver_rule,
        quorum=step.quorum,
        sla_hours=step.sla_hours,
        escalation_group_id=step.escalation_group_id,
        status=StepStatus.PENDING,
        opened_at=now,
        due_at=routing.due_at(now, step.sla_hours),
    )
    StepApprover.objects.bulk_create(
        StepApprover(step=again, user_id=user_id, source=source)
        for user_id, source in seats.items()
    )
    return {"step_met": False, "opened_step": again.pk, "opened_step_name": again.name}


def _close_step(step: ApprovalStep, status: str, now: datetime) -> None:
    step.status = status
    step.decided_at = now
    step.save(update_fields=["status", "decided_at"])


def _open_step(step: ApprovalStep, now: datetime) -> None:
    step.status = StepStatus.PENDING
    step.opened_at = now
    step.due_at = routing.due_at(now, step.sla_hours)
    update = ["status", "opened_at", "due_at"]
    if step.escalated_at is not None:  # nobody but the escalation target may decide it
        step.escalated_at = now
        update.append("escalated_at")
    step.save(update_fields=update)


def _skip_rest(change: ChangeRequest, *, exclude: int | None = None) -> None:
    rest = ApprovalStep.objects.filter(
        change=change, round=change.round, status__in=[StepStatus.WAITING, StepStatus.PENDING]
    )
    if exclude is not None:
        rest = rest.exclude(pk=exclude)
    rest.update(status=StepStatus.SKIPPED)


def change_withdraw(*, actor: User, change_id: int, comment: str = "") -> ChangeRequest:
    who = load_actor(actor)
    with transaction.atomic():
        change = _lock(change_id)
        check_withdraw(who, change)
        before = change.state
        _skip_rest(change)
        change.withdraw()
        audit.change_transitioned(
            action="withdrawn",
            change=change,
            actor=actor,
            from_state=before,
            data={"comment": comment},
        )
        _finish(change)
    return change


def change_start(*, actor: User, change_id: int) -> ChangeRequest:
    who = load_actor(actor)
    now = timezone.now()
    with transaction.atomic():
        change = _lock(change_id)
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
        _finish(change)
    return change


def change_complete(*, actor: User, change_id: int, outcome: str, notes: str = "") -> ChangeRequest:
    if outcome not in Outcome.values:
        raise InvalidInput({"outcome": [_("Choose success or failed.")]})
    who = load_actor(actor)
    now = timezone.now()
    with transaction.atomic():
        change = _lock(change_id)
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
                _open_step(review, now)
                data |= {"opened_step": review.pk, "opened_step_name": review.name}
        audit.change_transitioned(
            action="completed", change=change, actor=actor, from_state=before, data=data
        )
        _finish(change)
    return change


def change_feedback(
    *, actor: User, change_id: int, summary: str, lessons: str = ""
) -> ChangeRequest:
    if not (summary or "").strip():
        raise InvalidInput({"summary": [_("The feedback report needs a summary.")]})
    who = load_actor(actor)
    with transaction.atomic():
        change = _lock(change_id)
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
        _finish(change)
    return change


def change_comment(*, actor: User, change_id: int, text: str) -> Comment:
    text = (text or "").strip()
    if not text:
        raise InvalidInput({"text": [_("A comment cannot be empty.")]})
    if len(text) > 10000:
        raise InvalidInput({"text": [_("A comment is at most 10,000 characters.")]})
    who = load_actor(actor)
    with transaction.atomic():
        change = _lock_for_contribution(change_id, who)
        comment = Comment.objects.create(change=change, author=actor, text=text)
        audit.comment_added(change=change, actor=actor, comment_id=comment.pk, text=text)
        change.save(update_fields=["audit_length", "audit_head"])
        outbox.events_recorded()
    return comment


__all__ = [
    "InvalidTransition",
    "change_assess",
    "change_comment",
    "change_complete",
    "change_create",
    "change_feedback",
    "change_start",
    "change_submit",
    "change_update",
    "attachment_add",
    "change_withdraw",
    "step_decide",
]


def attachment_add(*, actor: User, change_id: int, upload: UploadedFile) -> Attachment:
    """Attach background material. Stored outside the web root; size and type limited."""
    name = Path(upload.name or "").name[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = settings.ATTACHMENT_ALLOWED_EXTENSIONS
    if not name or extension not in allowed:
        raise InvalidInput({"file": [_("Allowed file types: %s.") % ", ".join(allowed)]})
    if upload.size is None or upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise InvalidInput(
            {
                "file": [
                    _("Files are limited to %(mb)d MiB.")
                    % {"mb": settings.ATTACHMENT_MAX_BYTES // 2**20}
                ]
            }
        )
    if upload.size == 0:
        raise InvalidInput({"file": [_("The file is empty.")]})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    who = load_actor(actor)
    with transaction.atomic():
        change = _lock_for_contribution(change_id, who)
        if change.state in (ChangeState.CLOSED, ChangeState.REJECTED, ChangeState.WITHDRAWN):
            raise InvalidTransition(_("A closed change takes no more attachments."))
        attachment = Attachment(
            change=change,
            uploaded_by=actor,
            original_name=name,
            content_type=(upload.content_type or "application/octet-stream")[:100],
            size=upload.size,
            sha256=digest.hexdigest(),
        )
        upload.seek(0)
        attachment.file.save(name, upload, save=False)
        try:
            attachment.save()
            audit.attachment_added(
                change=change,
                actor=actor,
                data={
                    "attachment": attachment.pk,
                    "name": name,
                    "size": upload.size,
                    "sha256": attachment.sha256,
                },
            )
            change.save(update_fields=["audit_length", "audit_head"])
        except Exception:
            attachment.file.delete(save=False)
            raise
        outbox.events_recorded()
    return attachment
