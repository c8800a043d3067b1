"""Calendar, metrics, the process guide and delegations."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from approvals import metrics
from approvals.choices import ApproverRule, Role
from approvals.exceptions import InvalidInput
from approvals.policy import segregation_rules
from approvals.web import selectors
from approvals.web.common import actor_of, domain_errors, form_errors, user_of
from approvals.web.forms import DelegationForm
from approvals.workflow import delegations


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    try:
        start = datetime.fromisoformat(request.GET.get("from", ""))
        start = timezone.make_aware(start) if timezone.is_naive(start) else start
        if not 2000 <= start.year <= 2100:
            raise ValueError("out of the calendar's range")
    except ValueError:
        start = timezone.now() - timedelta(days=7)
    data = selectors.calendar_data(start)
    days: dict = {}
    for change in data["changes"]:
        days.setdefault(timezone.localtime(change.planned_start).date(), []).append(change)
    conflicted = {c.change.pk for c in data["conflicts"]} | {
        c.other.pk for c in data["conflicts"] if c.other is not None
    }
    context = data | {
        "days": sorted(days.items()),
        "conflicted": conflicted,
        "previous": (data["start"] - timedelta(days=42)).date().isoformat(),
        "next": data["end"].date().isoformat(),
    }
    return render(request, "approvals/calendar.html", context)


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 60:.0f} min"
    return f"{value:.1f} h"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


@login_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    waits = metrics.step_waits()
    outcomes = metrics.change_outcomes()
    median_bars, median_height = metrics.bar_chart(
        (w.label, w.median_hours, _hours(w.median_hours)) for w in waits
    )
    p90_bars, p90_height = metrics.bar_chart(
        (w.label, w.p90_hours, _hours(w.p90_hours)) for w in waits
    )
    overdue_bars, overdue_height = metrics.bar_chart(
        (w.label, float(w.overdue_open), str(w.overdue_open)) for w in waits
    )
    rates = [
        (_("Approval rate"), outcomes.approval_rate),
        (_("Rejection rate"), outcomes.rejection_rate),
        (_("Success rate"), outcomes.success_rate),
    ]
    rate_bars, rate_height = metrics.bar_chart(
        ((label, value, _percent(value)) for label, value in rates), width=300
    )
    charts = [
        {"title": _("Median wait per step kind"), "bars": median_bars, "height": median_height},
        {"title": _("90th percentile wait"), "bars": p90_bars, "height": p90_height},
        {"title": _("Open steps overdue"), "bars": overdue_bars, "height": overdue_height},
    ]
    context = {
        "waits": [
            {
                "w": w,
                "median": _hours(w.median_hours),
                "p90": _hours(w.p90_hours),
            }
            for w in waits
        ],
        "charts": charts,
        "rate_chart": {"title": _("Outcomes"), "bars": rate_bars, "height": rate_height},
        "outcomes": outcomes,
        "rates": [(label, _percent(value)) for label, value in rates],
    }
    return render(request, "approvals/metrics.html", context)


@login_required
def how_it_works(request: HttpRequest) -> HttpResponse:
    policies = selectors.policies_for_guide()
    guide = []
    for policy in policies:
        steps = []
        for step in policy.steps.all():
            groups = list(step.groups.all())
            if step.approver_rule == ApproverRule.GROUPS:
                members = sorted({u.username for g in groups for u in g.user_set.all()})
            else:
                members = []
            steps.append({"step": step, "groups": groups, "members": members})
        guide.append({"policy": policy, "steps": steps})
    context = {"guide": guide, "Role": Role, "segregation_rules": segregation_rules()}
    return render(request, "approvals/how_it_works.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def delegation_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = DelegationForm(request.POST or None, user_id=actor.id)
    if request.method == "POST" and form.is_valid():
        try:
            delegations.delegation_create(actor=user_of(request), **form.cleaned_data)
        except InvalidInput as error:
            form_errors(form, error)
        else:
            messages.success(request, _("Delegation recorded."))
            return redirect("web:delegations")
    status = 400 if request.method == "POST" else 200
    context = selectors.delegations_of(actor.id) | {
        "form": form,
        "now": timezone.now(),
        "read_only": actor.is_auditor,
    }
    return render(request, "approvals/delegations.html", context, status=status)


@login_required
@require_POST
@domain_errors
def delegation_end(request: HttpRequest, delegation_id: int) -> HttpResponse:
    delegations.delegation_end(actor=user_of(request), delegation_id=delegation_id)
    messages.success(request, _("Delegation ended."))
    return redirect("web:delegations")
