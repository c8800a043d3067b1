"""The change list: filters, sorting, saved filters and a CSV export of what the filters show."""

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from approvals.choices import ChangeState, ChangeType, Impact, Risk
from approvals.exceptions import InvalidInput
from approvals.models import ChangeRequest
from approvals.selectors import departments_of
from approvals.web import selectors
from approvals.web.common import actor_of, domain_errors, user_of
from approvals.workflow.saved_filters import saved_filter_delete, saved_filter_save

PAGE_SIZE = 50
EXPORT_CHUNK = 500
FILTER_FIELDS = (
    "q",
    "state",
    "change_type",
    "impact",
    "risk",
    "department",
    "requester",
    "implementer",
    "planned_from",
    "planned_until",
    "mine",
    "sort",
)
SORT_COLUMNS = [
    ("key", gettext_lazy("Key")),
    ("title", gettext_lazy("Title")),
    ("state", gettext_lazy("State")),
    ("step", gettext_lazy("Current step")),
    ("risk", gettext_lazy("Risk")),
    ("impact", gettext_lazy("Impact")),
    ("start", gettext_lazy("Planned start")),
    ("requester", gettext_lazy("Requester")),
    ("updated", gettext_lazy("Updated")),
]


def _any(choices: Any) -> list[tuple[str, str]]:
    return [("", gettext_lazy("any")), *choices]


def _clean_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; a pasted one must not break the page.
    return value.replace("\x00", "").strip()


class ChangeListForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    change_type = forms.ChoiceField(label=gettext_lazy("Type"), required=False)
    impact = forms.ChoiceField(label=gettext_lazy("Impact"), required=False)
    risk = forms.ChoiceField(label=gettext_lazy("Risk"), required=False)
    department = forms.CharField(label=gettext_lazy("Department"), required=False, max_length=16)
    requester = forms.CharField(label=gettext_lazy("Requester"), required=False, max_length=150)
    implementer = forms.CharField(label=gettext_lazy("Implementer"), required=False, max_length=150)
    planned_from = forms.DateField(
        label=gettext_lazy("Window from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    planned_until = forms.DateField(
        label=gettext_lazy("Window until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    mine = forms.BooleanField(label=gettext_lazy("Waiting on me"), required=False)
    sort = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = {
            "state": ChangeState.choices,
            "change_type": ChangeType.choices,
            "impact": Impact.choices,
            "risk": Risk.choices,
        }
        for name, values in choices.items():
            self.fields[name].choices = _any(values)  # type: ignore[attr-defined]

    def filters(self) -> selectors.ChangeListFilters:
        """The valid filters; an invalid field is ignored rather than emptying the list."""
        data = self.cleaned_data if self.is_bound else {}
        valid = {k: v for k, v in data.items() if k not in self.errors}
        text = {k: _clean_text(valid.get(k) or "") for k in ("q", "department", "requester")}
        sort = valid.get("sort") or ""
        return selectors.ChangeListFilters(
            state=valid.get("state") or "",
            search=text["q"],
            change_type=valid.get("change_type") or "",
            impact=valid.get("impact") or "",
            risk=valid.get("risk") or "",
            department=text["department"].upper(),
            requester=text["requester"],
            implementer=_clean_text(valid.get("implementer") or ""),
            planned_from=_day_start(valid.get("planned_from")),
            planned_until=_day_start(valid.get("planned_until"), days=1),
            waiting_on_me=bool(valid.get("mine")),
            sort=sort if sort.removeprefix("-") in selectors.SORTS else "-updated",
        )


def _day_start(day: date | None, *, days: int = 0) -> datetime | None:
    """Midnight of `day` in the current time zone (the viewer's), `days` later."""
    if day is None:
        return None
    try:
        return timezone.make_aware(datetime.combine(day, time.min) + timedelta(days=days))
    except OverflowError:  # the last representable day: nothing lies beyond it
        return None


def _filter_query(params: QueryDict) -> str:
    """The list's filters as a query string, without paging or blanks (what a saved filter and
    the export keep)."""
    pairs = [(k, _clean_text(params.get(k, ""))[:200]) for k in FILTER_FIELDS]
    return urlencode([(k, v) for k, v in pairs if v])


def _sort_links(query: str, current: str) -> list[dict]:
    """Each column header's link: sort by it, or reverse it when it is the current sort."""
    base = QueryDict(query, mutable=True)
    links = []
    for name, label in SORT_COLUMNS:
        base["sort"] = f"-{name}" if current == name else name
        direction = "ascending" if current == name else ""
        direction = "descending" if current == f"-{name}" else direction
        links.append(
            {"name": name, "label": label, "url": base.urlencode(), "direction": direction}
        )
    return links


@login_required
@require_GET
def change_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = ChangeListForm(request.GET)
    form.is_valid()  # invalid fields are left out of the filters, and shown with their errors
    filters = form.filters()
    changes = selectors.change_list(actor, filters)
    page = Paginator(changes, PAGE_SIZE).get_page(request.GET.get("page"))
    query = _filter_query(request.GET)
    choices = selectors.list_choices(actor)
    context = {
        "form": form,
        "changes": page,
        "page": page,
        "query": query,
        "sort": filters.sort,
        "columns": _sort_links(query, filters.sort),
        "departments": choices.departments,
        "saved_filters": choices.saved_filters,
        "export_url": f"{reverse('web:change_export')}?{query}",
    }
    return render(request, "approvals/change_list.html", context)


class _Echo:
    """A write-only file for csv.writer: hands each row back instead of storing it."""

    def write(self, value: str) -> str:
        return value


EXPORT_HEADER = (
    "key",
    "title",
    "state",
    "current_step",
    "change_type",
    "impact",
    "risk",
    "departments",
    "requester",
    "implementer",
    "planned_start",
    "planned_end",
    "updated_at",
)


def _iso(value: datetime | None) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def _export_row(change: ChangeRequest) -> list[str]:
    return [
        change.key,
        change.title,
        change.state,
        getattr(change, "current_step", None) or "",
        change.change_type,
        change.impact,
        change.risk,
        " ".join(d.code for d in departments_of(change)),
        change.requester.get_username(),
        change.implementer.get_username() if change.implementer else "",
        _iso(change.planned_start),
        _iso(change.planned_end),
        _iso(change.updated_at),
    ]


def _csv_lines(changes: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # spreadsheets read the file as UTF-8 (Chinese titles) only with a BOM
    yield writer.writerow(EXPORT_HEADER)
    # In a transaction: the server-side cursor then lives in it alone, as a connection pooler in
    # transaction mode needs (outside one it would be held open across transactions).
    with transaction.atomic():
        for change in changes.iterator(chunk_size=EXPORT_CHUNK):
            yield writer.writerow(_export_row(change))


@login_required
@require_GET
def change_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV, streamed; only the changes the viewer may see."""
    form = ChangeListForm(request.GET)
    form.is_valid()
    changes = (
        selectors.change_list(actor_of(request), form.filters())
        .select_related("implementer")
        .prefetch_related("departments")
    )
    response = StreamingHttpResponse(_csv_lines(changes), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="changes-{stamp}.csv"'
    return response


@login_required
@require_POST
@domain_errors
def saved_filter_create(request: HttpRequest) -> HttpResponse:
    query = _filter_query(QueryDict(request.POST.get("query", "")))
    try:
        saved = saved_filter_save(
            user=user_of(request), name=_clean_text(request.POST.get("name", ""))[:80], query=query
        )
    except InvalidInput as error:
        for message_list in error.errors.values():
            for message in message_list:
                messages.error(request, message)
        return redirect(f"{reverse('web:change_list')}?{query}")
    messages.success(request, _("Filter “%(name)s” saved.") % {"name": saved.name})
    return redirect(f"{reverse('web:change_list')}?{saved.query}")


@login_required
@require_POST
@domain_errors
def saved_filter_remove(request: HttpRequest, filter_id: int) -> HttpResponse:
    saved_filter_delete(user=user_of(request), filter_id=filter_id)
    messages.success(request, _("Saved filter deleted."))
    return redirect("web:change_list")
