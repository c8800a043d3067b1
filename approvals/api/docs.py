"""OpenAPI pieces shared by the views: error bodies and the standard error responses."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorBody = inline_serializer("Error", {"detail": serializers.CharField()})
ConflictBody = inline_serializer(
    "Conflict",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(
            help_text="`invalid_transition`; `stale_step` for a decision on a step that is no "
            "longer open; `outside_window` for `start` outside the approved window."
        ),
    },
)
VersionBody = inline_serializer(
    "VersionMismatch",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(help_text="`version_mismatch`"),
        "version": serializers.IntegerField(help_text="The change's current version."),
    },
)

ERRORS: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description='Invalid input: `{"field": ["message", ...]}` or `{"detail": "..."}`.',
        examples=[
            OpenApiExample(
                "Field errors",
                value={"title": ["This field is required."]},
                response_only=True,
                status_codes=["400"],
            )
        ],
    ),
    401: OpenApiResponse(ErrorBody, description="Not authenticated."),
    403: OpenApiResponse(
        ErrorBody,
        description="Not allowed: role, segregation of duties, or an auditor writing.",
        examples=[
            OpenApiExample(
                "Segregation of duties",
                value={
                    "detail": "Segregation of duties: you cannot decide a change you requested."
                },
                response_only=True,
                status_codes=["403"],
            )
        ],
    ),
    404: OpenApiResponse(ErrorBody, description="No such object, or not visible to the caller."),
    409: OpenApiResponse(
        ConflictBody,
        description="Not allowed in the change's current state, or lost a race.",
        examples=[
            OpenApiExample(
                "Wrong state",
                value={
                    "detail": "Cannot submit a change that is approved.",
                    "code": "invalid_transition",
                },
                response_only=True,
                status_codes=["409"],
            )
        ],
    ),
    412: OpenApiResponse(
        VersionBody,
        description="Sent with `If-Match: <version>`, and the change has moved on; nothing changed.",
    ),
    429: OpenApiResponse(ErrorBody, description="Throttled; see the Retry-After header."),
}


def errors(*codes: int) -> dict[int, Any]:
    """Documented error responses for `codes` (401 and 429 are added by the schema hook)."""
    return {code: ERRORS[code] for code in codes}


def add_common_responses(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: every operation may answer 401 and 429; every POST
    takes an `Idempotency-Key` and may answer 409 (key in progress) and 422 (key reused)."""
    error_ref = {"$ref": "#/components/schemas/Error"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for code, text in (("401", "Not authenticated."), ("429", "Throttled.")):
                responses.setdefault(
                    code,
                    {"description": text, "content": {"application/json": {"schema": error_ref}}},
                )
            if method != "post" or not operation.get("security", [{}])[0]:
                continue  # anonymous POSTs (the token endpoint) have no user to scope a key to
            operation.setdefault("parameters", []).append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                    "description": "A repeat of the same key by the same user within 24 hours "
                    "returns the first response and does nothing again.",
                }
            )
            responses.setdefault(
                "409",
                {
                    "description": "Not allowed now, or the same Idempotency-Key is in progress.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Conflict"}}
                    },
                },
            )
            responses.setdefault(
                "422",
                {
                    "description": "The Idempotency-Key was used with a different request.",
                    "content": {"application/json": {"schema": error_ref}},
                },
            )
    return result
