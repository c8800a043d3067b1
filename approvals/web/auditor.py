"""Pages for auditors: the trail, one event, snapshots, and verification runs (the one thing
an auditor starts: it changes nothing but adds a run to the record)."""

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.choices import Role
from approvals.evidence import export, runs
from approvals.evidence.compliance import compliance_report, default_period
from approvals.exceptions import NotFound
from approvals.models import AuditCheckpoint, AuditEvent, AuditSnapshot, AuditVerification
from approvals.models.evidence import VerificationStatus
from approvals.web import selectors
from approvals.web.common import domain_errors, error_page, role_required
from approvals.web.forms import AuditFilterForm

PAGE_SIZE = 25


def _day_start(day: date | None, *, days: int = 0) -> datetime | None:
    if day is None:
        return None
    try:
        return timezone.make_aware(datetime.combine(day, time.min) + timedelta(days=days))
    except OverflowError:  # the last representable day: nothing lies beyond it
        return None


def _trail_filters(form: AuditFilterForm) -> dict:
    """The trail page's filters, which its exports apply too."""
    if not form.is_valid():
        return {}
    data = form.cleaned_data
    return {
        "change": data["change"].replace("\x00", "").strip(),
        "actor": data["actor"].replace("\x00", "").strip(),
        "action": data["action"],
        "since": _day_start(data["since"]),
        "until": _day_start(data["until"], days=1),
    }


@role_required(Role.AUDITOR)
def trail(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, actions=selectors.audit_actions())
    events = selectors.audit_events(**_trail_filters(form))
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "approvals/audit/trail.html", context)


@role_required(Role.AUDITOR)
def trail_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The events the trail page shows with the same filters, oldest first, streamed as CSV or
    JSON."""
    kind = request.GET.get("format", "csv")
    if kind not in ("csv", "json"):
        return error_page(request, _("Choose csv or json."), 400)
    form = AuditFilterForm(request.GET or None, actions=selectors.audit_actions())
    events = selectors.audit_events(**_trail_filters(form))
    if kind == "csv":
        pieces = export.csv_pieces(events, keyed=True)
        response = StreamingHttpResponse(pieces, content_type="text/csv; charset=utf-8")
    else:
        pieces = export.json_pieces(events, keyed=True)
        response = StreamingHttpResponse(pieces, content_type="application/json")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{kind}"'
    return response


@role_required(Role.AUDITOR)
@domain_errors
def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    event = AuditEvent.objects.filter(seq=seq).first()
    if event is None:
        raise NotFound(_("No such audit event."))
    return render(request, "approvals/audit/event.html", {"event": event})


@role_required(Role.AUDITOR)
def snapshots(request: HttpRequest) -> HttpResponse:
    page = Paginator(AuditSnapshot.objects.all(), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "interval_minutes": max(1, round(settings.AUDIT_SNAPSHOT_INTERVAL_SECONDS / 60)),
        "margin_seconds": round(settings.AUDIT_SNAPSHOT_MARGIN_SECONDS),
    }
    return render(request, "approvals/audit/snapshots.html", context)


@role_required(Role.AUDITOR)
def verify(request: HttpRequest) -> HttpResponse:
    """The latest completed verification run and the ones still waiting; POST starts a run on a
    worker (the page never recomputes the trail itself)."""
    if request.method == "POST":
        runs.verification_request(requested_by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Verification started: refresh this page to see its result."))
        return redirect("web:audit_verify")
    context = {
        "run": runs.latest_completed(),
        "waiting": AuditVerification.objects.filter(
            status__in=[VerificationStatus.QUEUED, VerificationStatus.RUNNING]
        ).order_by("requested_at", "pk")[:5],
        "checkpoint": AuditCheckpoint.objects.order_by("-number").first(),
    }
    return render(request, "approvals/audit/verify.html", context)


@role_required(Role.AUDITOR, Role.CHANGE_MANAGER)
def compliance(request: HttpRequest) -> HttpResponse:
    """Every change started in a period tested against the controls, with the audit events
    behind each exception (auditors and change managers)."""
    form = CompliancePeriodForm(request.GET or None)
    since, until = default_period()
    if form.is_valid():
        since = _day_start(form.cleaned_data["since"]) or since
        until = _day_start(form.cleaned_data["until"], days=1) or until
    report = compliance_report(since=since, until=until).as_dict()
    query = urlencode({"since": since.isoformat(), "until": until.isoformat(), "format": "csv"})
    context = {"form": form, "report": report, "csv_url": f"/api/v1/compliance/?{query}"}
    return render(request, "approvals/audit/compliance.html", context)


class CompliancePeriodForm(forms.Form):
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)
