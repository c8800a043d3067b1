from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from notifications.messages import text_of
from notifications.selectors import notifications_of
from notifications.services import notifications_mark_all_read


def _user_id(request: HttpRequest) -> int:
    assert request.user.pk is not None  # login_required
    return int(request.user.pk)


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(notifications_of(_user_id(request)), 50).get_page(request.GET.get("page"))
    # Written now, in the reader's language (the active one).
    rows = [(n, text_of(n)) for n in page.object_list]
    return render(request, "notifications/list.html", {"page": page, "rows": rows})


@login_required
@require_POST
def notification_mark_all_read(request: HttpRequest) -> HttpResponse:
    marked = notifications_mark_all_read(user_id=_user_id(request))
    messages.success(
        request,
        ngettext("%(n)d notification marked read.", "%(n)d notifications marked read.", marked)
        % {"n": marked},
    )
    return redirect("notifications:list")
