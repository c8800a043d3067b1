"""Between the first factor and the second, a session reaches only the second step's pages."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from approvals.identity.mfa import ENROL, PENDING_SESSION_KEY

# Reachable while the second step is pending: the step itself, signing out, and what pages need
# to render (static files, language switch) or probes need.
OPEN_PREFIXES = ("/accounts/mfa/", "/accounts/logout/", "/static/", "/i18n/", "/health/")


class MfaPendingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        pending = session.get(PENDING_SESSION_KEY) if session is not None else None
        if pending is None or request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": _("Finish signing in with your second factor."), "code": "mfa_pending"},
                status=403,
            )
        target = reverse("identity:mfa_enrol" if pending == ENROL else "identity:mfa_verify")
        return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
