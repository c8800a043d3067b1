"""Read-only pages for auditors: the trail, one event, snapshots and chain verification."""

from datetime import date, datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.audit import verify_chain
from approvals.choices import Role
from approvals.exceptions import NotFound
from approvals.models import AuditEvent, AuditSnapshot
from approvals.web import selectors
from approvals.web.common import domain_errors, role_required
from approvals.web.forms import AuditFilterForm

PAGE_SIZE = 25


def _day_start(day: date | None, *, days: int = 0) -> datetime | None:
    if day is None:
        return None
    try:
        return timezone.make_aware(datetime.combine(day, time.min) + timedelta(days=days))
    except OverflowError:  # the last representable day: nothing lies beyond it
        return None


@role_required(Role.AUDITOR)
def trail(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, actions=selectors.audit_actions())
    filters: dict = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "change": data["change"].strip(),
            "actor": data["actor"].strip(),
            "action": data["action"],
            "since": _day_start(data["since"]),
            "until": _day_start(data["until"], days=1),
        }
    events = selectors.audit_events(**filters)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "approvals/audit/trail.html", context)


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
    return render(request, "approvals/audit/snapshots.html", {"page": page})


@role_required(Role.AUDITOR)
def verify(request: HttpRequest) -> HttpResponse:
    return render(request, "approvals/audit/verify.html", {"result": verify_chain()})
