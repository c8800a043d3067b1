"""The audit trail for auditors: browse, export (streamed), verify, snapshots."""

from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.api.docs import errors
from approvals.api.filters import AuditEventFilter
from approvals.api.pagination import AuditCursorPagination
from approvals.api.serializers.audit import (
    AuditEventSerializer,
    AuditSnapshotSerializer,
    VerifySerializer,
    VerifyStartedSerializer,
    verification_row,
)
from approvals.api.views.base import ApiMixin, IsAuditor, acting_user
from approvals.evidence import export, runs
from approvals.exceptions import NotFound
from approvals.models import AuditEvent, AuditSnapshot, AuditVerification

AUDITORS: Sequence[type[BasePermission]] = (IsAuthenticated, IsAuditor)


@extend_schema(
    summary="Browse the audit trail (auditors)",
    responses={200: AuditEventSerializer(many=True), **errors(400, 403, 404)},
)
class AuditEventListView(ApiMixin, generics.ListAPIView):
    permission_classes = AUDITORS
    serializer_class = AuditEventSerializer
    pagination_class = AuditCursorPagination
    filterset_class = AuditEventFilter
    queryset = AuditEvent.objects.all()


class ExportNegotiation(DefaultContentNegotiation):
    """Here `?format=` names the export's file format (csv|json), not a DRF renderer; answers
    that are not the export itself (errors) are JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


@extend_schema(
    summary="Export the audit trail, streamed (auditors)",
    parameters=[
        OpenApiParameter(
            "format", str, enum=["csv", "json"], description="`csv` (default) or `json`."
        ),
        OpenApiParameter("change", int, description="Change id."),
        OpenApiParameter("actor", str, description="Username."),
        OpenApiParameter("action", str),
        OpenApiParameter("since", OpenApiTypes.DATETIME, description="From this instant on."),
        OpenApiParameter("until", OpenApiTypes.DATETIME, description="Before this instant."),
    ],
    responses={
        (200, "application/json"): OpenApiResponse(
            AuditEventSerializer(many=True), description="`format=json`: an array of events."
        ),
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="`format=csv`: one event a row, with a header row."
        ),
        **errors(400, 403),
    },
)
class AuditExportView(ApiMixin, generics.GenericAPIView):
    """Streams the filtered trail; memory stays constant however long it is."""

    content_negotiation_class = ExportNegotiation
    renderer_classes = [JSONRenderer]

    permission_classes = AUDITORS
    filterset_class = AuditEventFilter
    serializer_class = AuditEventSerializer
    pagination_class = None
    queryset = AuditEvent.objects.all()

    def get(self, request: Request) -> StreamingHttpResponse:
        kind = request.query_params.get("format", "csv")
        if kind not in ("csv", "json"):
            raise ValidationError({"format": ["Choose csv or json."]})
        events = self.filter_queryset(self.get_queryset())
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        if kind == "csv":
            response = StreamingHttpResponse(
                export.csv_pieces(events), content_type="text/csv; charset=utf-8"
            )
        else:
            response = StreamingHttpResponse(
                export.json_pieces(events), content_type="application/json"
            )
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{kind}"'
        return response


@extend_schema(
    summary="The latest verification of the audit trail; POST starts one (auditors)",
    description=(
        "GET answers the latest completed run (`ok` is null before the first). POST queues a run "
        "on a worker and answers 202 with the URL to poll: the trail is never recomputed inside "
        "a request."
    ),
    responses={200: VerifySerializer, 202: VerifyStartedSerializer, **errors(403)},
)
class AuditVerifyView(ApiMixin, generics.GenericAPIView):
    permission_classes = AUDITORS
    serializer_class = VerifySerializer
    pagination_class = None
    filterset_class = None

    def get(self, request: Request) -> Response:
        return Response(verification_row(runs.latest_completed()))

    @extend_schema(request=None, responses={202: VerifyStartedSerializer, **errors(403)})
    def post(self, request: Request) -> Response:
        run = runs.verification_request(requested_by=acting_user(request))
        url = reverse("api:audit-verify-run", args=[run.pk])
        return Response(
            {"run": run.pk, "status_url": request.build_absolute_uri(url)},
            status=status.HTTP_202_ACCEPTED,
        )


class AuditVerifyRunView(ApiMixin, generics.GenericAPIView):
    permission_classes = AUDITORS
    serializer_class = VerifySerializer
    pagination_class = None
    filterset_class = None

    @extend_schema(
        operation_id="audit_verify_run_retrieve",
        summary="One verification run, to poll (auditors)",
        responses={200: VerifySerializer, **errors(403, 404)},
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = AuditVerification.objects.filter(pk=run_id).first()
        if run is None:
            raise NotFound(_("No such verification run."))
        return Response(verification_row(run))


@extend_schema(
    summary="Audit snapshots, newest first (auditors)",
    responses={200: AuditSnapshotSerializer(many=True), **errors(403, 404)},
)
class AuditSnapshotListView(ApiMixin, generics.ListAPIView):
    permission_classes = AUDITORS
    serializer_class = AuditSnapshotSerializer
    filterset_class = None
    queryset = AuditSnapshot.objects.order_by("-created_at", "-pk")
