"""Error answers outside the API views: JSON for every path under /api/, Django's pages elsewhere.

The database being unreachable, or the disk holding attachments being full, is not a bug in the
request: under /api/ it answers 503 with Retry-After, so clients retry instead of giving up."""

import errno
import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

RETRY_AFTER_SECONDS = 5


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def database_unavailable() -> JsonResponse:
    response = JsonResponse(
        {
            "detail": "The service is temporarily unavailable; try again shortly.",
            "code": "unavailable",
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


# A write the filesystem refused for want of space (or quota): nothing was recorded.
STORAGE_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


def is_storage_full(exc: BaseException | None) -> bool:
    return isinstance(exc, OSError) and exc.errno in STORAGE_FULL_ERRNOS


def storage_full() -> JsonResponse:
    response = JsonResponse(
        {
            "detail": "There is no room to store files right now; nothing was saved. Try again later.",
            "code": "storage_full",
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception, **kwargs)


def permission_denied(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action."}, status=403
        )
    return defaults.permission_denied(request, exception, **kwargs)


def page_not_found(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception, **kwargs)


def server_error(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    # Django calls this while handling the exception, so it is still the current one.
    exc = sys.exc_info()[1]
    if _is_api(request):
        if isinstance(exc, OperationalError | InterfaceError):
            return database_unavailable()
        if is_storage_full(exc):
            return storage_full()
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request, **kwargs)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)
    return django_csrf_failure(request, reason=reason)
