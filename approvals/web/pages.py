"""Calendar, metrics, the process guide and delegations."""

import csv
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from approvals import metrics
from approvals.choices import ApproverRule, Role
from approvals.exceptions import InvalidInput
from approvals.policy import segregation_rules
from approvals.web import selectors
from approvals.web.common import actor_of, domain_errors, form_errors, user_of
from approvals.web.forms import DelegationForm, MetricsPeriodForm
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
    data = selectors.calendar_data(actor_of(request), start)
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


def duration_text(hours: float | None) -> str:
    """A wait as people say it: seconds are "< 1 min", then minutes, hours, days."""
    if hours is None:
        return "—"
    if hours < 1 / 60:
        return _("< 1 min")
    if hours < 1:
        return _("%(n)d min") % {"n": round(hours * 60)}
    if hours < 48:
        return _("%(n).1f h") % {"n": hours}
    return _("%(n).1f d") % {"n": hours / 24}


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _wait_rows(stats: list[metrics.WaitStats]) -> list[dict[str, Any]]:
    """Table rows with median and 90th-percentile bars on one scale: the table's longest wait."""
    top = max((s.p90_hours or 0.0 for s in stats), default=0.0) or 1.0
    return [
        {
            "s": s,
            "group": metrics.shown(s.group),
            "name": metrics.shown(s.name),
            "median": duration_text(s.median_hours),
            "p90": duration_text(s.p90_hours),
            "median_percent": round(100 * (s.median_hours or 0.0) / top, 1),
            "p90_percent": round(100 * (s.p90_hours or 0.0) / top, 1),
        }
        for s in stats
    ]


def _period(request: HttpRequest) -> tuple[MetricsPeriodForm, metrics.Period]:
    default = metrics.period_of(since=None, until=None)
    form = MetricsPeriodForm(
        request.GET or None, initial={"since": default.since, "until": default.until}
    )
    if not form.is_valid():  # an unbound form is not valid: the default period
        return form, default
    cleaned = form.cleaned_data
    return form, metrics.period_of(since=cleaned.get("since"), until=cleaned.get("until"))


@login_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    form, period = _period(request)
    report = metrics.report(period=period)
    outcomes = report.outcomes
    rates = [
        (_("Approval rate"), outcomes.approval_rate),
        (_("Rejection rate"), outcomes.rejection_rate),
        (_("Success rate"), outcomes.success_rate),
    ]
    query = urlencode({"since": period.since.isoformat(), "until": period.until.isoformat()})
    context = {
        "form": form,
        "period": period,
        "csv_url": f"{reverse('web:metrics_csv')}?{query}",
        "api_url": f"{reverse('api:metrics')}?{query}",
        "tables": [
            {
                "id": "steps",
                "title": _("Time waiting per step of each policy"),
                "group": _("Policy"),
                "name": _("Step"),
                "rows": _wait_rows(report.steps),
            },
            {
                "id": "departments",
                "title": _("Time waiting per requester's department"),
                "group": _("Department"),
                "rows": _wait_rows(report.departments),
            },
            {
                "id": "approvers",
                "title": _("Time waiting per approver"),
                "group": _("Approver"),
                "rows": _wait_rows(report.approvers),
            },
        ],
        "rate_bars": metrics.bars((label, value, _percent(value)) for label, value in rates),
        "outcomes": outcomes,
    }
    return render(request, "approvals/metrics.html", context)


@login_required
def metrics_csv(request: HttpRequest) -> HttpResponse:
    _form, period = _period(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"metrics-{period.since.isoformat()}-{period.until.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(metrics.CSV_COLUMNS)
    writer.writerows(metrics.csv_rows(metrics.report(period=period)))
    return response


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
