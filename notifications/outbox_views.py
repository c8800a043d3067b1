"""`/outbox/dead-letters/`: change managers see, retry and dismiss the outbox's dead letters."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from approvals.choices import Role
from approvals.outbox import oldest_undelivered_age
from approvals.web.common import domain_errors, role_required, user_of
from notifications import dead_letters


@role_required(Role.CHANGE_MANAGER)
def dead_letter_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(dead_letters.dead_letters(), 50).get_page(request.GET.get("page"))
    now = timezone.now()
    age = oldest_undelivered_age(now=now)
    context = {
        "page": page,
        "retrying": dead_letters.retrying_count(),
        "oldest_since": None if age is None else now - age,
    }
    return render(request, "notifications/dead_letters.html", context)


@role_required(Role.CHANGE_MANAGER)
@require_POST
@domain_errors
def dead_letter_retry(request: HttpRequest, pk: int) -> HttpResponse:
    dead_letters.dead_letter_retry(actor=user_of(request), dead_letter_id=pk)
    messages.success(request, _("The event is sent again at the next drain."))
    return redirect("outbox:dead_letters")


@role_required(Role.CHANGE_MANAGER)
@require_POST
@domain_errors
def dead_letter_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    dead_letters.dead_letter_dismiss(actor=user_of(request), dead_letter_id=pk)
    messages.success(request, _("The dead letter is dismissed."))
    return redirect("outbox:dead_letters")
