"""Work queues: the approver inbox, the assessor queue and the implementer queue."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from approvals import workflow
from approvals.choices import Role
from approvals.exceptions import DomainError, InvalidInput
from approvals.policy import change_warnings, check_assess, decision_seat, is_overdue
from approvals.selectors import (
    actions_for,
    as_open_step,
    blackout_windows,
    inbox_counts,
    unstaffed_steps,
)
from approvals.web import selectors
from approvals.web.changes import _load
from approvals.web.common import (
    actor_of,
    domain_errors,
    error_page,
    form_errors,
    role_required,
    user_of,
)
from approvals.web.forms import AssessForm, CompleteForm, DecisionForm, FeedbackForm

APPROVER_ROLES = (
    Role.APPROVER,
    Role.CHANGE_MANAGER,
    Role.CAB,
    Role.TECHNICAL_EXPERT,
    Role.RISK_REVIEWER,
    Role.EXTERNAL_EXPERT,
)


def _inbox_context(request: HttpRequest) -> dict:
    actor = actor_of(request)
    rows = []
    now = timezone.now()
    windows = blackout_windows(now)
    for step in selectors.inbox_rows(actor):
        # The same rule the decision will apply names the seat used (own, or as delegate).
        try:
            seat = decision_seat(actor, step.change, as_open_step(step))
        except DomainError:
            continue  # the list and the rule disagree only in a race: show what can be decided
        seats = {s.user_id: s.user for s in step.seats.all()}
        rows.append(
            {
                "step": step,
                "change": step.change,
                "overdue": is_overdue(step, now),
                "on_behalf_of": seats.get(seat.on_behalf_of_id) if seat.on_behalf_of_id else None,
                "warnings": change_warnings(
                    step.change,
                    windows=windows,
                    department_ids=[d.pk for d in step.change.departments.all()],
                    conflict_with=getattr(step, "change_conflict", None),
                    route=(),
                    now=now,
                ),
            }
        )
    unstaffed = list(unstaffed_steps()) if Role.CHANGE_MANAGER in actor.roles else []
    return {
        "rows": rows,
        "overdue_count": sum(1 for r in rows if r["overdue"]),
        "unstaffed": unstaffed,
    }


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Steps I may decide now, oldest due first. Anyone holding a delegated seat also sees it."""
    actor = actor_of(request)
    if actor.is_auditor or not (actor.roles & set(APPROVER_ROLES) or actor.delegator_ids):
        return error_page(request, _("This page is not available to your role."), 403)
    return render(request, "approvals/inbox.html", _inbox_context(request))


@login_required
@require_POST
@domain_errors
def inbox_decide(request: HttpRequest, change_id: int) -> HttpResponse:
    """Approve / reject / request information from the inbox. htmx gets an empty body (the row
    is removed in place); a plain form post is redirected back to the inbox."""
    form = DecisionForm(request.POST)
    change = _load(request, change_id)
    if not form.is_valid():
        text = "; ".join(str(m) for msgs in form.errors.values() for m in msgs)
        return error_page(request, text, 400)
    decision = form.cleaned_data["decision"]
    try:
        workflow.step_decide(
            actor=user_of(request),
            change_id=change.pk,
            decision=decision,
            comment=form.cleaned_data["comment"],
            step_id=form.cleaned_data["step"],
            outcome=form.cleaned_data["outcome"],
            actions=form.cleaned_data["actions"],
        )
    except InvalidInput as error:
        text = "; ".join(m for msgs in error.errors.values() for m in msgs)
        return error_page(request, text, 400)
    done = {
        "approve": _("You approved %(key)s."),
        "reject": _("You rejected %(key)s."),
        "request_info": _("You asked for more information on %(key)s."),
    }[decision] % {"key": change.key}
    if request.htmx:  # type: ignore[attr-defined]
        # The row goes away (empty main content); the status and the counts update out of band.
        context = {"message": done, **inbox_counts(actor_of(request))}
        return render(request, "approvals/partials/_inbox_done.html", context)
    messages.success(request, done)
    return redirect("web:inbox")


@role_required(Role.ASSESSOR)
def assessor_queue(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    changes = selectors.assessor_queue(actor)
    return render(request, "approvals/assessor_queue.html", {"changes": changes})


@role_required(Role.ASSESSOR)
@domain_errors
@require_http_methods(["GET", "POST"])
def assess(request: HttpRequest, change_id: int) -> HttpResponse:
    change = _load(request, change_id)
    check_assess(actor_of(request), change)
    form = AssessForm(request.POST or None, initial={"impact": change.impact})
    if request.method == "POST" and form.is_valid():
        try:
            workflow.change_assess(actor=user_of(request), change_id=change.pk, **form.cleaned_data)
        except InvalidInput as error:
            form_errors(form, error)
        else:
            messages.success(
                request, _("%(key)s assessed; its route is open.") % {"key": change.key}
            )
            return redirect("web:assessor_queue")
    status = 400 if request.method == "POST" else 200
    return render(request, "approvals/assess.html", {"change": change, "form": form}, status=status)


@role_required(Role.IMPLEMENTER)
def implementer_queue(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    windows = blackout_windows()
    rows = [
        {"change": c, "actions": actions_for(actor, c, windows=windows)}
        for c in selectors.implementer_queue(actor)
    ]
    context = {"rows": rows, "complete_form": CompleteForm(), "feedback_form": FeedbackForm()}
    return render(request, "approvals/implementer_queue.html", context)
