"""Change pages: dashboard, list, form with route preview, detail with its actions."""

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import mentions, routing, workflow
from approvals.choices import ChangeState, ChangeType, DecisionKind, StepStatus
from approvals.downloads import attachment_response
from approvals.exceptions import DomainError, InvalidInput, NotFound
from approvals.localization import localized
from approvals.models import ChangeRequest, Decision, Department
from approvals.policy import awaits_review, blackouts_overlapping, check_create, check_edit
from approvals.selectors import (
    actions_for,
    blackout_windows,
    decisions_of,
    open_step_of,
    review_statuses,
    route_of,
    warnings_for,
)
from approvals.web import selectors
from approvals.web.common import actor_of, domain_errors, error_page, form_errors, user_of
from approvals.web.forms import (
    DATETIME_FORMATS,
    AssessForm,
    AssessmentStopForm,
    AttachmentForm,
    ChangeForm,
    CommentForm,
    CompleteForm,
    DecisionForm,
    FeedbackForm,
    ReassignForm,
    RescheduleForm,
    WithdrawForm,
)

User = get_user_model()


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = selectors.dashboard_data(actor_of(request))
    request.inbox_count = context["inbox_count"]  # type: ignore[attr-defined]  # the menu's count
    return render(request, "approvals/dashboard.html", context)


def _load(request: HttpRequest, change_id: int) -> ChangeRequest:
    change = selectors.change_for_page(actor_of(request), change_id)
    if change is None:
        raise NotFound(_("No such change."))
    return change


def _save_attachments(request: HttpRequest, change_id: int, files: list) -> None:
    for upload in files:
        workflow.attachment_add(actor=user_of(request), change_id=change_id, upload=upload)


def submitted_message(change: ChangeRequest) -> str:
    """A standard change is not submitted for approval: it is pre-approved by its template."""
    if change.change_type == ChangeType.STANDARD:
        return _(
            "%(key)s is pre-approved by its catalogue template: no approval steps; it may be "
            "carried out in its window."
        )
    return _("%(key)s submitted.")


def _save_change(
    request: HttpRequest, form: ChangeForm, change: ChangeRequest | None
) -> tuple[ChangeRequest | None, bool]:
    """Create or update, attach, and submit when asked. Returns (change, done)."""
    data = form.to_data()
    try:
        if change is None:
            change = workflow.change_create(actor=user_of(request), data=data)
        else:
            change = workflow.change_update(actor=user_of(request), change_id=change.pk, data=data)
    except InvalidInput as error:
        form_errors(form, error)
        return change, False
    try:
        _save_attachments(request, change.pk, form.cleaned_data.get("attachments") or [])
        if request.POST.get("intent") == "submit":
            workflow.change_submit(actor=user_of(request), change_id=change.pk)
            messages.success(request, submitted_message(change) % {"key": change.key})
        else:
            messages.success(request, _("%(key)s saved as a draft.") % {"key": change.key})
    except InvalidInput as error:
        form_errors(form, error, rename={"file": "attachments"})
        form.add_error(
            None, _("The draft is saved but not yet submitted; fix the fields marked below first.")
        )
        return change, False
    return change, True


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def change_new(request: HttpRequest) -> HttpResponse:
    check_create(actor_of(request))
    initial = ChangeForm.initial_from_query(request.GET)
    form = ChangeForm(request.POST or None, request.FILES or None, initial=initial)
    change = None
    if request.method == "POST" and form.is_valid():
        change, done = _save_change(request, form, None)
        if done and change is not None:
            return redirect("web:change_detail", change.pk)
    status = 400 if request.method == "POST" else 200
    context = {
        "form": form,
        "change": change,
        "preview": _preview_from(form, request),
        "information_request": information_request(change),
    }
    return render(request, "approvals/change_form.html", context, status=status)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def change_edit(request: HttpRequest, change_id: int) -> HttpResponse:
    change = _load(request, change_id)
    check_edit(actor_of(request), change)
    if request.method == "POST":
        form = ChangeForm(request.POST, request.FILES)
        if form.is_valid():
            saved, done = _save_change(request, form, change)
            if done and saved is not None:
                return redirect("web:change_detail", saved.pk)
        status = 400
    else:
        form = ChangeForm(initial=ChangeForm.initial_for(change))
        status = 200
    context = {
        "form": form,
        "change": change,
        "preview": _preview_from(form, request),
        "information_request": information_request(change),
    }
    return render(request, "approvals/change_form.html", context, status=status)


def information_request(change: ChangeRequest | None) -> Decision | None:
    """The approver's question that sent this draft back, while it is still unanswered."""
    if change is None or change.state != ChangeState.DRAFT:
        return None
    asked = [
        decision
        for step in getattr(change, "all_steps", [])
        if step.round != change.round
        for decision in decisions_of(step)
        if decision.decision == DecisionKind.REQUEST_INFO
    ]
    return max(asked, key=lambda d: d.decided_at, default=None)


def _preview_from(form: ChangeForm, request: HttpRequest) -> dict:
    values = form.data if form.is_bound else form.initial
    getlist = getattr(values, "getlist", None)
    departments = getlist("departments") if getlist else values.get("departments") or []
    codes = [d.code if isinstance(d, Department) else d for d in departments]
    return route_preview_for(
        request,
        str(values.get("change_type") or "normal"),
        str(values.get("impact") or "low"),
        codes,
        planned_start=_planned(values.get("planned_start")),
        planned_end=_planned(values.get("planned_end")),
    )


def _planned(value: object) -> datetime | None:
    """A planned time as typed in the form (or already a datetime); None when unreadable."""
    if isinstance(value, datetime):
        return value
    field = forms.DateTimeField(required=False, input_formats=DATETIME_FORMATS)
    try:
        return field.clean(value)
    except ValidationError:
        return None


def route_preview_for(
    request: HttpRequest,
    change_type: str,
    impact: str,
    codes: list[str],
    *,
    planned_start: datetime | None = None,
    planned_end: datetime | None = None,
) -> dict:
    """The route the policy would choose now for these answers, and the blackout windows the
    planned window overlaps (nothing is saved)."""
    actor = actor_of(request)
    departments = list(Department.objects.filter(code__in=codes))
    own = Department.objects.filter(pk=actor.department_id).first() if actor.department_id else None
    if own is not None and own not in departments:
        departments.append(own)
    blackouts = []
    if planned_start is not None and planned_end is not None and planned_start < planned_end:
        overlapping = blackouts_overlapping(
            blackout_windows(), [d.pk for d in departments], planned_start, planned_end
        )
        blackouts = [{"name": n, "starts_at": s, "ends_at": e} for n, s, e in overlapping]
    if change_type == ChangeType.STANDARD:
        return {"standard": True, "blackouts": blackouts}
    if change_type not in ChangeType.values:
        return {"error": _("Choose a change type."), "blackouts": blackouts}
    draft = ChangeRequest(requester_id=actor.id, change_type=change_type, impact=impact)
    try:
        policy = routing.choose_policy(change_type, routing.change_level(impact))
        planned = routing.plan_route(
            change=draft, policy=policy, departments=departments, requester_department=own
        )
    except DomainError as error:
        return {"error": error.message, "blackouts": blackouts}
    users = User.objects.in_bulk([u for p in planned for u in p.seats])
    steps = [
        {
            "name": localized(p.template),
            "kind": p.template.get_kind_display(),
            "quorum": p.template.quorum,
            "sla_hours": p.template.sla_hours,
            "approvers": sorted(users[u].get_username() for u in p.seats if u in users),
            "escalated": all(src == "escalation" for src in p.seats.values()),
        }
        for p in planned
    ]
    return {
        "policy": policy,
        "steps": steps,
        "cross": len(departments) >= 2,
        "blackouts": blackouts,
    }


@login_required
@require_GET
def route_preview(request: HttpRequest) -> HttpResponse:
    preview = route_preview_for(
        request,
        request.GET.get("change_type", "normal"),
        request.GET.get("impact", "low"),
        [code.replace("\x00", "") for code in request.GET.getlist("departments")],
        planned_start=_planned(request.GET.get("planned_start", "").replace("\x00", "")),
        planned_end=_planned(request.GET.get("planned_end", "").replace("\x00", "")),
    )
    return render(request, "approvals/partials/_route_preview.html", {"preview": preview})


@login_required
@domain_errors
def change_detail(request: HttpRequest, change_id: int) -> HttpResponse:
    return _detail_page(request, _load(request, change_id))


def _detail_page(
    request: HttpRequest,
    change: ChangeRequest,
    *,
    attachment_form: AttachmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    actions = actions_for(actor, change)
    route = route_of(change)
    earlier = [s for s in getattr(change, "all_steps", []) if s.round != change.round]
    events = selectors.timeline(change)
    # Approvers of a later round see what the requester changed since the earlier round asked.
    resubmitted = change.round > 0 and change.state != ChangeState.DRAFT
    context = {
        "change": change,
        "actions": actions,
        # Commenting has its own form below; the panel lists the decisions and transitions.
        "panel_actions": [a for a in actions if a != "comment"],
        "route": route,
        "earlier_steps": earlier,
        "information_request": information_request(change),
        "open_step": open_step_of(change),
        # Say why nobody can close it yet, rather than leave an empty panel.
        "awaiting_review": awaits_review(change, review_statuses(change)),
        "warnings": warnings_for(change),
        "reschedule_form": RescheduleForm(
            initial={"planned_start": change.planned_start, "planned_end": change.planned_end}
        ),
        "events": events,
        "edits_since": selectors.edits_since_information_request(events) if resubmitted else [],
        "conflicts": selectors.conflicts_for_change(change, actor=actor),
        "now": timezone.now(),
        "decision_form": DecisionForm(),
        "assess_form": AssessForm(initial={"impact": change.impact}),
        "complete_form": CompleteForm(),
        "feedback_form": FeedbackForm(),
        "comment_form": CommentForm(),
        "withdraw_form": WithdrawForm(),
        "attachment_form": attachment_form or AttachmentForm(),
        "can_attach": "comment" in actions
        and change.state not in (ChangeState.CLOSED, ChangeState.REJECTED, ChangeState.WITHDRAWN),
        "StepStatus": StepStatus,
    }
    return render(request, "approvals/change_detail.html", context, status=status)


def _run_action(request: HttpRequest, change: ChangeRequest, action: str) -> str:
    """Call the service for `action`; returns the success message. Domain errors propagate."""
    user, pk, post = user_of(request), change.pk, request.POST
    if action == "submit":
        workflow.change_submit(actor=user, change_id=pk)
        return submitted_message(change)
    if action == "withdraw":
        workflow.change_withdraw(actor=user, change_id=pk, comment=post.get("comment", ""))
        return _("%(key)s withdrawn.")
    if action in ("approve", "reject", "request_info"):
        _decide(user, change, action, post)
        return {
            "approve": _("You approved %(key)s."),
            "reject": _("You rejected %(key)s."),
            "request_info": _("You asked for more information on %(key)s."),
        }[action]
    if action == "reassign":
        values = _valid(ReassignForm(post))
        workflow.step_reassign(actor=user, change_id=pk, step_id=values.pop("step"), **values)
        return _("The seat of %(key)s was reassigned.")
    if action == "reschedule":
        workflow.change_reschedule(actor=user, change_id=pk, **_valid(RescheduleForm(post)))
        return _("%(key)s moves to its new window; its final approval is open again.")
    if action == "assess":
        workflow.change_assess(
            actor=user,
            change_id=pk,
            impact=post.get("impact", ""),
            risk=post.get("risk", ""),
            notes=post.get("notes", ""),
        )
        return _("%(key)s assessed; its route is open.")
    if action == "start":
        workflow.change_start(actor=user, change_id=pk)
        return _("%(key)s started.")
    if action == "complete":
        workflow.change_complete(
            actor=user, change_id=pk, outcome=post.get("outcome", ""), notes=post.get("notes", "")
        )
        return _("%(key)s completed.")
    if action == "feedback":
        workflow.change_feedback(
            actor=user,
            change_id=pk,
            summary=post.get("summary", ""),
            lessons=post.get("lessons", ""),
        )
        return _("Feedback report saved; %(key)s is closed.")
    if action == "comment":
        comment = workflow.change_comment(actor=user, change_id=pk, text=post.get("text", ""))
        told = mentions.recorded([comment.pk]).get(comment.pk)
        if told:  # usernames hold no "%", so the key is still the only placeholder
            return _("Comment added; %(names)s will be notified.") % {"names": ", ".join(told)}
        return _("Comment added.")
    if action == "attach":
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput({"file": [_("Choose a file.")]})
        workflow.attachment_add(actor=user, change_id=pk, upload=upload)
        return _("File attached.")
    raise NotFound(_("No such action."))


def _valid(form: Any) -> dict[str, Any]:
    """Cleaned form data, or the form's errors as InvalidInput (a 400 with the messages)."""
    if not form.is_valid():
        raise InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    return dict(form.cleaned_data)


def _decide(user: Any, change: ChangeRequest, action: str, post: Any) -> None:
    if change.state == ChangeState.SUBMITTED:  # the assessor stops the change: no step yet
        data = _valid(AssessmentStopForm({"decision": action, "comment": post.get("comment")}))
        workflow.step_decide(actor=user, change_id=change.pk, **data)
        return
    data = _valid(DecisionForm(post.dict() | {"decision": action}))
    workflow.step_decide(
        actor=user,
        change_id=change.pk,
        decision=action,
        comment=data["comment"],
        step_id=data["step"],
        outcome=data["outcome"],
        actions=data["actions"],
    )


ACTIONS = (
    "submit",
    "withdraw",
    "approve",
    "reject",
    "request_info",
    "reassign",
    "reschedule",
    "assess",
    "start",
    "complete",
    "feedback",
    "comment",
    "attach",
)


@login_required
@require_POST
@domain_errors
def change_action(request: HttpRequest, change_id: int, action: str) -> HttpResponse:
    """Every button of the detail and queue pages posts here; the service decides."""
    if action not in ACTIONS:
        raise NotFound(_("No such action."))
    change = _load(request, change_id)
    try:
        message = _run_action(request, change, action)
    except InvalidInput as error:
        text = "; ".join(m for msgs in error.errors.values() for m in msgs)
        if action == "attach" and not request.htmx:  # type: ignore[attr-defined]
            # A refused file is named on the change page, at the file field, not on a page of
            # its own.
            form = AttachmentForm(request.POST, request.FILES)
            if form.is_valid():  # the file arrived; the service refused it
                form_errors(form, error)
            return _detail_page(request, change, attachment_form=form, status=400)
        return error_page(request, text, 400)
    messages.success(request, message % {"key": change.key})
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("web:change_detail", change.pk)


@login_required
@domain_errors
def attachment_download(
    request: HttpRequest, change_id: int, attachment_id: int
) -> HttpResponse | FileResponse:
    """Stream an attachment to whoever may see its change; files are outside the web root."""
    _load(request, change_id)
    return attachment_response(change_id=change_id, attachment_id=attachment_id)
