"""The standard-change catalogue page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from approvals.catalogue import catalogue_entries


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    return render(request, "approvals/catalogue.html", {"entries": catalogue_entries()})
