import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
# The request being served, so that log lines can name its user (see changemgmt.observability).
current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

access_log = logging.getLogger("changemgmt.request")
log = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Tags each request with an id (the caller's X-Request-ID when sane) for the audit trail
    and the logs, and logs one line per request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        id_token = current_request_id.set(request_id)
        request_token = current_request.set(request)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            current_request.reset(request_token)
            current_request_id.reset(id_token)


def _declared_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        return None
    return length if length >= 0 else None


class ApiGuardMiddleware:
    """Under /api/: a URL or body beyond the limits is answered in JSON before any work is done
    (DRF reads JSON bodies from the stream, past Django's own size check), and a view that finds
    the database unreachable or a full disk answers 503 with Retry-After."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        if len(request.get_full_path()) > settings.API_MAX_URL_LENGTH:
            return JsonResponse(
                {"detail": f"URL too long (at most {settings.API_MAX_URL_LENGTH} characters)."},
                status=414,
            )
        length = _declared_length(request)
        if length is None:
            return JsonResponse({"detail": "Invalid Content-Length header."}, status=400)
        limit = _body_limit(request)
        if length > limit:
            return JsonResponse(
                {"detail": f"Request body too large (at most {limit} bytes)."}, status=413
            )
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path_info.startswith("/api/"):
            return None
        from changemgmt.errors import database_unavailable, is_storage_full, storage_full

        if isinstance(exception, OperationalError | InterfaceError):
            log.warning("database unavailable", exc_info=exception)
            return database_unavailable()
        if is_storage_full(exception):
            log.error("storage full", exc_info=exception)
            return storage_full()
        return None


def _body_limit(request: HttpRequest) -> int:
    if request.content_type == "multipart/form-data":
        # An attachment upload: the file may be as large as attachments are allowed to be.
        return settings.ATTACHMENT_MAX_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class SessionIdleMiddleware:
    """A signed-in session lives SESSION_COOKIE_AGE (the idle limit) from its last save; saving it
    at most once a minute while it is used turns that into an idle timeout without a database
    write on every request."""

    TOUCH_KEY = "_touched_at"
    TOUCH_EVERY_SECONDS = 60

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.session_key or session.is_empty():
            return response
        now = int(time.time())
        if now - int(session.get(self.TOUCH_KEY, 0)) >= self.TOUCH_EVERY_SECONDS:
            session[self.TOUCH_KEY] = now  # marks the session modified: saved with a new expiry
        return response
