"""Work queues: the approver inbox, the assessor queue and the implementer queue."""

from collections.abc import Mapping
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from approvals import workflow
from approvals.choices import ApproverRule, ApproverSource, DecisionKind, ReviewOutcome, Role
from approvals.exceptions import DomainError, InvalidInput
from approvals.limits import page_number
from approvals.policy import (
    OpenStep,
    change_warnings,
    check_assess,
    decision_seat,
    is_overdue,
    quorum_needed,
)
from approvals.selectors import (
    actions_for,
    blackout_windows,
    inbox_counts,
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


MAX_BULK = 100
# Oldest due first; the rest a page further on (a long absence leaves hundreds waiting).
INBOX_PAGE_ROWS = 100


def _time_left(due_at: datetime | None, now: datetime) -> dict | None:
    """How long until the step is due, in the largest unit that reads naturally."""
    if due_at is None:
        return None
    seconds = abs((due_at - now).total_seconds())
    if seconds < 3600:
        n = max(1, round(seconds / 60))
        amount = ngettext("%(n)s min", "%(n)s min", n) % {"n": n}
    elif seconds < 48 * 3600:
        n = round(seconds / 3600)
        amount = ngettext("%(n)s h", "%(n)s h", n) % {"n": n}
    else:
        n = round(seconds / 86400)
        amount = ngettext("%(n)s day", "%(n)s days", n) % {"n": n}
    if due_at < now:
        return {"overdue": True, "text": _("%(amount)s past due") % {"amount": amount}}
    return {"overdue": False, "text": _("due in %(amount)s") % {"amount": amount}}


def _progress(open_step: OpenStep) -> dict | None:
    """Approvals so far against the quorum, for steps that need more than one ("1 of 2 heads")."""
    step = open_step.step
    route_seats = [u for u, source in open_step.seats.items() if source == ApproverSource.ROUTE]
    needed = quorum_needed(step.quorum, len(route_seats))
    if needed < 2:
        return None
    done = sum(1 for u in route_seats if open_step.decided.get(u) == DecisionKind.APPROVE)
    if step.approver_rule == ApproverRule.OTHER_DEPARTMENT_HEADS:
        text = ngettext("%(done)s of %(needed)s head", "%(done)s of %(needed)s heads", needed) % {
            "done": done,
            "needed": needed,
        }
    else:
        text = ngettext(
            "%(done)s of %(needed)s approval", "%(done)s of %(needed)s approvals", needed
        ) % {"done": done, "needed": needed}
    return {"done": done, "needed": needed, "text": text}


def _inbox_context(request: HttpRequest) -> dict:
    actor = actor_of(request)
    rows = []
    now = timezone.now()
    windows = blackout_windows(now)
    number = page_number(request.GET.get("page"))
    # One row more than a page tells whether another page follows.
    page = selectors.inbox_page(
        actor,
        with_unstaffed=Role.CHANGE_MANAGER in actor.roles,
        offset=(number - 1) * INBOX_PAGE_ROWS,
        limit=INBOX_PAGE_ROWS + 1,
    )
    more = len({s.pk for s in page.rows} | {s.pk for s in page.unstaffed}) > INBOX_PAGE_ROWS
    for step in page.rows[:INBOX_PAGE_ROWS]:
        # The same rule the decision will apply names the seat used (own, or as delegate).
        open_step = selectors.inbox_open_step(step)
        try:
            seat = decision_seat(actor, step.change, open_step)
        except DomainError:
            continue  # the list and the rule disagree only in a race: show what can be decided
        seats = {s.user_id: s.user for s in step.seats.all()}
        rows.append(
            {
                "step": step,
                "change": step.change,
                "overdue": is_overdue(step, now),
                "time_left": _time_left(step.due_at, now),
                "progress": _progress(open_step),
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
    totals: Mapping[str, int | None]
    if page.total is not None and (more or number > 1):
        totals = {"count": page.total, "overdue_count": page.overdue}
    elif number > 1:  # past the end: the totals take a query of their own
        totals = inbox_counts(actor)
    else:  # one page holds the whole inbox: count what is shown
        totals = {"count": len(rows), "overdue_count": sum(1 for r in rows if r["overdue"])}
    return {
        "rows": rows,
        **totals,
        "unstaffed": page.unstaffed,
        "max_bulk": MAX_BULK,
        "page_number": number,
        "first_row": (number - 1) * INBOX_PAGE_ROWS + 1,
        "last_row": (number - 1) * INBOX_PAGE_ROWS + len(rows),
        "next_page": number + 1 if more else None,
        "previous_page": number - 1 if number > 1 else None,
    }


def _may_use_inbox(request: HttpRequest) -> bool:
    actor = actor_of(request)
    return not actor.is_auditor and bool(actor.roles & set(APPROVER_ROLES) or actor.delegator_ids)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Steps I may decide now, oldest due first. Anyone holding a delegated seat also sees it."""
    if not _may_use_inbox(request):
        return error_page(request, _("This page is not available to your role."), 403)
    context = _inbox_context(request)
    request.inbox_count = context["count"]  # type: ignore[attr-defined]  # the menu's count
    return render(request, "approvals/inbox.html", context)


def _input_message(error: InvalidInput) -> str:
    return "; ".join(m for msgs in error.errors.values() for m in msgs)


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
        return error_page(request, _input_message(error), 400)
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


def _bulk_step_ids(request: HttpRequest) -> list[int]:
    ids: list[int] = []
    for value in request.POST.getlist("step")[:MAX_BULK]:
        if value.isdigit() and len(value) <= 15 and int(value) not in ids:
            ids.append(int(value))
    return ids


@login_required
@require_POST
def inbox_bulk_decide(request: HttpRequest) -> HttpResponse:
    """Approve the selected steps with one comment: each is its own decision through the
    workflow service, accepted or refused on its own, and the summary names each refusal."""
    if not _may_use_inbox(request):
        return error_page(request, _("This page is not available to your role."), 403)
    ids = _bulk_step_ids(request)
    if not ids:
        messages.error(request, _("Select the steps to approve first."))
        return redirect("web:inbox")
    comment = request.POST.get("comment", "").replace("\x00", "")
    approved: list[str] = []
    refused: list[str] = []
    for target in selectors.bulk_targets(actor_of(request), ids):
        if target.change_id is None:
            refused.append(f"#{target.step_id} — " + _("No such step."))
            continue
        try:
            workflow.step_decide(
                actor=user_of(request),
                change_id=target.change_id,
                decision=DecisionKind.APPROVE,
                comment=comment,
                step_id=target.step_id,
                outcome=ReviewOutcome.ACCEPTED if target.is_review else "",
            )
        except InvalidInput as error:
            refused.append(f"{target.key} — {_input_message(error)}")
        except DomainError as error:
            refused.append(f"{target.key} — {error.message}")
        else:
            approved.append(target.key)
    _bulk_summary(request, approved, refused)
    return redirect("web:inbox")


def _bulk_summary(request: HttpRequest, approved: list[str], refused: list[str]) -> None:
    summary = ngettext("%(n)s approved", "%(n)s approved", len(approved)) % {"n": len(approved)}
    if not refused:
        messages.success(request, summary + " (" + ", ".join(approved) + ").")
        return
    refusals = ngettext("%(n)s refused", "%(n)s refused", len(refused)) % {"n": len(refused)}
    level = messages.warning if approved else messages.error
    level(request, f"{summary}, {refusals}: " + "; ".join(refused))


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
