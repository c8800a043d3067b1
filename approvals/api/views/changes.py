"""Change requests: list, create, read, edit, and every workflow action."""

from collections.abc import Callable
from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from approvals import mentions, workflow
from approvals.api.docs import errors
from approvals.api.filters import ChangeFilter
from approvals.api.pagination import KeysetPagination, PagePagination
from approvals.api.serializers.audit import AuditEventSerializer
from approvals.api.serializers.changes import (
    ApproveSerializer,
    AssessSerializer,
    AttachmentInSerializer,
    AttachmentSerializer,
    ChangeSerializer,
    ChangeWriteSerializer,
    CommentedChangeSerializer,
    CommentInSerializer,
    CommentSerializer,
    CompleteSerializer,
    FeedbackSerializer,
    ReasonedDecisionSerializer,
    ReassignSerializer,
    RescheduleSerializer,
    WithdrawSerializer,
)
from approvals.api.views.base import ID_PATTERN, ApiMixin, acting_user
from approvals.downloads import attachment_response
from approvals.exceptions import NotFound
from approvals.models import Attachment, AuditEvent, ChangeRequest, Comment
from approvals.selectors import LazyWindows, visible_changes, with_route

CREATE_EXAMPLE = OpenApiExample(
    "Normal change",
    request_only=True,
    value={
        "title": "Upgrade the ticketing database",
        "description": "Move from version 14 to 16.",
        "goal": "Stay on a supported version.",
        "scope": "Ticketing database cluster.",
        "expected_impact": "Ten minutes of read-only mode.",
        "change_type": "normal",
        "category": "software_upgrade",
        "impact": "medium",
        "departments": ["IT"],
        "implementer": "ivan",
        "planned_start": "2026-12-01T20:00:00Z",
        "planned_end": "2026-12-01T22:00:00Z",
        "backout_plan": "Restore the snapshot.",
        "test_plan": "Run the smoke suite.",
    },
)

ACTION_ERRORS = errors(400, 403, 404, 409, 412)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The change's `version` (its ETag) as last read; if it has moved on, the action "
    "answers 412 and changes nothing.",
)
# Body names that differ from the service's keyword arguments.
RENAMED = {"step": "step_id", "from": "from_user", "to": "to_user"}


def _action_schema(summary: str, body: type[Serializer] | None) -> Callable:
    return extend_schema(
        summary=summary,
        request=body,
        parameters=[IF_MATCH],
        responses={200: ChangeSerializer, **ACTION_ERRORS},
    )


def expected_version(request: Request) -> int | None:
    """The version in an `If-Match` header (`7`, `"7"` or `W/"7"`); None when not sent."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    value = raw.removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 18:
        raise ValidationError({"If-Match": ['Send the change\'s version, e.g. If-Match: "7".']})
    return int(value)


@extend_schema_view(
    list=extend_schema(
        summary="List the changes you can see",
        responses={200: ChangeSerializer(many=True), **errors(400, 404)},
    ),
    create=extend_schema(
        summary="Create a draft",
        request=ChangeWriteSerializer,
        responses={201: ChangeSerializer, **errors(400, 403)},
        examples=[CREATE_EXAMPLE],
    ),
    retrieve=extend_schema(
        summary="Read a change", responses={200: ChangeSerializer, **errors(404)}
    ),
    partial_update=extend_schema(
        summary="Edit your draft",
        request=ChangeWriteSerializer,
        parameters=[IF_MATCH],
        responses={200: ChangeSerializer, **errors(400, 403, 404, 409, 412)},
    ),
)
class ChangeViewSet(ApiMixin, viewsets.GenericViewSet):
    """Change requests. Every write goes through the workflow services."""

    serializer_class = ChangeSerializer
    filterset_class = ChangeFilter
    pagination_class = KeysetPagination
    lookup_value_regex = ID_PATTERN
    queryset = ChangeRequest.objects.none()  # the real one depends on the caller

    def get_queryset(self) -> Any:
        return with_route(visible_changes(self.actor)).order_by("-created_at", "-pk")

    def get_serializer_context(self) -> dict[str, Any]:
        # Blackout windows are loaded once per request, not once per approved row.
        context = super().get_serializer_context()
        return context | {"actor": self.actor, "windows": LazyWindows()}

    def _show(self, change_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        change = with_route(ChangeRequest.objects.filter(pk=change_id)).first()
        if change is None:
            raise NotFound(_("No such change."))
        response = Response(self.get_serializer(change).data, status=status_code)
        response["ETag"] = f'"{change.version}"'
        return response

    def _act(
        self,
        request: Request,
        pk: str,
        service: Callable[..., Any],
        body: type[Serializer] | None = None,
        **fixed: Any,
    ) -> Response:
        change_id, _result = self._run(request, pk, service, body, **fixed)
        return self._show(change_id)

    def _run(
        self,
        request: Request,
        pk: str,
        service: Callable[..., Any],
        body: type[Serializer] | None = None,
        **fixed: Any,
    ) -> tuple[int, Any]:
        """Call the action's service with the validated body; the change's id and what the
        service returned."""
        change_id = self.ensure_visible(pk)
        version = expected_version(request)
        arguments: dict[str, Any] = {}
        if body is not None:
            serializer = body(data=request.data)
            serializer.is_valid(raise_exception=True)
            arguments = {RENAMED.get(k, k): v for k, v in serializer.validated_data.items()}
        result = service(
            actor=acting_user(request),
            change_id=change_id,
            expected_version=version,
            **fixed,
            **arguments,
        )
        return change_id, result

    # --- collection and item -----------------------------------------------------------------

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        serializer = ChangeWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        change = workflow.change_create(
            actor=acting_user(request), data=dict(serializer.validated_data)
        )
        return self._show(change.pk, status.HTTP_201_CREATED)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._show(self.ensure_visible(pk))

    def partial_update(self, request: Request, pk: str) -> Response:
        change_id = self.ensure_visible(pk)
        version = expected_version(request)
        serializer = ChangeWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        workflow.change_update(
            actor=acting_user(request),
            change_id=change_id,
            data=dict(serializer.validated_data),
            expected_version=version,
        )
        return self._show(change_id)

    # --- lifecycle actions ---------------------------------------------------------------------

    @_action_schema("Submit your draft", None)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.change_submit)

    @_action_schema("Assess a submitted change (assessors)", AssessSerializer)
    @action(detail=True, methods=["post"])
    def assess(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.change_assess, AssessSerializer)

    @_action_schema("Approve the open step", ApproveSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.step_decide, ApproveSerializer, decision="approve")

    @_action_schema("Reject the change", ReasonedDecisionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        return self._act(
            request, pk, workflow.step_decide, ReasonedDecisionSerializer, decision="reject"
        )

    @_action_schema("Send the change back for more information", ReasonedDecisionSerializer)
    @action(detail=True, methods=["post"])
    def request_info(self, request: Request, pk: str) -> Response:
        return self._act(
            request, pk, workflow.step_decide, ReasonedDecisionSerializer, decision="request_info"
        )

    @_action_schema(
        "Move a seat of the open step to someone else (change managers)", ReassignSerializer
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.step_reassign, ReassignSerializer)

    @_action_schema(
        "Move the window of an approved change; the final approval re-opens", RescheduleSerializer
    )
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.change_reschedule, RescheduleSerializer)

    @_action_schema("Withdraw your change", WithdrawSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.change_withdraw, WithdrawSerializer)

    @_action_schema("Start implementing (the implementer)", None)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.change_start)

    @_action_schema("Record the implementation outcome", CompleteSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.change_complete, CompleteSerializer)

    @_action_schema("Write the feedback report and close", FeedbackSerializer)
    @action(detail=True, methods=["post"])
    def feedback(self, request: Request, pk: str) -> Response:
        return self._act(request, pk, workflow.change_feedback, FeedbackSerializer)

    @extend_schema(
        summary="Comment on the change; `@username` notifies that person if they may see it",
        request=CommentInSerializer,
        parameters=[IF_MATCH],
        responses={200: CommentedChangeSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def comment(self, request: Request, pk: str) -> Response:
        change_id, comment = self._run(request, pk, workflow.change_comment, CommentInSerializer)
        response = self._show(change_id)
        response.data["mentions"] = mentions.recorded([comment.pk]).get(comment.pk, [])
        return response

    # --- what hangs off a change ---------------------------------------------------------------

    @extend_schema(
        summary="The change's audit events, oldest first",
        responses={200: AuditEventSerializer(many=True), **errors(404)},
    )
    @action(detail=True, methods=["get"], pagination_class=PagePagination, filterset_class=None)
    def audit(self, request: Request, pk: str) -> Response:
        events = AuditEvent.objects.filter(change_id=self.ensure_visible(pk)).order_by("seq")
        page = self.paginate_queryset(events)
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)

    @extend_schema(
        summary="The change's comments, oldest first",
        responses={200: CommentSerializer(many=True), **errors(404)},
    )
    @action(detail=True, methods=["get"], pagination_class=PagePagination, filterset_class=None)
    def comments(self, request: Request, pk: str) -> Response:
        comments = Comment.objects.filter(change_id=self.ensure_visible(pk)).select_related(
            "author"
        )
        page = self.paginate_queryset(comments.order_by("created_at", "pk"))
        told = mentions.recorded([comment.pk for comment in page or []])
        serializer = CommentSerializer(page, many=True, context={"mentions": told})
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        methods=["GET"],
        summary="The change's attachments",
        responses={200: AttachmentSerializer(many=True), **errors(404)},
    )
    @extend_schema(
        methods=["POST"],
        summary="Attach a file (multipart/form-data, field `file`)",
        request={"multipart/form-data": AttachmentInSerializer},
        responses={201: AttachmentSerializer, **errors(400, 403, 404, 409)},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=PagePagination,
        filterset_class=None,
        parser_classes=[MultiPartParser],
    )
    def attachments(self, request: Request, pk: str) -> Response:
        change_id = self.ensure_visible(pk)
        if request.method == "POST":
            return self._attach(request, change_id)
        attachments = Attachment.objects.filter(change_id=change_id).select_related("uploaded_by")
        page = self.paginate_queryset(attachments.order_by("created_at", "pk"))
        return self.get_paginated_response(
            AttachmentSerializer(page, many=True, context={"request": request}).data
        )

    def _attach(self, request: Request, change_id: int) -> Response:
        serializer = AttachmentInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = workflow.attachment_add(
            actor=acting_user(request),
            change_id=change_id,
            upload=serializer.validated_data["file"],
        )
        data = AttachmentSerializer(attachment, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download an attachment",
        parameters=[
            OpenApiParameter("attachment_id", str, OpenApiParameter.PATH, pattern=f"^{ID_PATTERN}$")
        ],
        responses={
            (200, "application/octet-stream"): bytes,
            **errors(404),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"attachments/(?P<attachment_id>{ID_PATTERN})/download",
        filterset_class=None,
    )
    def download(self, request: Request, pk: str, attachment_id: str) -> FileResponse:
        change_id = self.ensure_visible(pk)
        return attachment_response(change_id=change_id, attachment_id=int(attachment_id))
