"""Domain errors become HTTP answers here, and only here."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from approvals.exceptions import (
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    NotFound,
    VersionMismatch,
)


class Conflict(exceptions.APIException):
    """409 raised by the API itself (an idempotency key still being processed)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class KeyReused(exceptions.APIException):
    """422: an `Idempotency-Key` repeated with a different request."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


def _domain_response(exc: Exception) -> Response | None:
    if isinstance(exc, NotAllowed):
        return Response({"detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, InvalidTransition):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, VersionMismatch):
        return Response(
            {"detail": exc.message, "code": exc.code, "version": exc.version},
            status=status.HTTP_412_PRECONDITION_FAILED,
        )
    if isinstance(exc, InvalidInput):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, NotFound):
        return Response({"detail": exc.message}, status=status.HTTP_404_NOT_FOUND)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: NotAllowed→403, InvalidTransition→409, InvalidInput→400,
    NotFound→404; everything else as DRF answers it."""
    response = _domain_response(exc)
    if response is not None:
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, Conflict):
        response.data["code"] = exc.get_codes()
    return response
