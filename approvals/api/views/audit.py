"""The audit trail for auditors: browse, export (streamed), verify, snapshots."""

import csv
import json
from collections.abc import Iterable, Iterator, Sequence

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import audit
from approvals.api.docs import errors
from approvals.api.filters import AuditEventFilter
from approvals.api.pagination import AuditCursorPagination
from approvals.api.serializers.audit import (
    EVENT_FIELDS,
    AuditEventSerializer,
    AuditSnapshotSerializer,
    VerifySerializer,
    event_row,
)
from approvals.api.views.base import ApiMixin, IsAuditor
from approvals.models import AuditEvent, AuditSnapshot

AUDITORS: Sequence[type[BasePermission]] = (IsAuthenticated, IsAuditor)
EXPORT_CHUNK = 2000


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


class _Echo:
    """A write-only file for csv.writer: hands each row back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(events: Iterator[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EVENT_FIELDS)
    for event in events:
        row = event_row(event)
        row["data"] = json.dumps(row["data"], cls=DjangoJSONEncoder, ensure_ascii=False)
        yield writer.writerow([row[name] if row[name] is not None else "" for name in EVENT_FIELDS])


def _json_rows(events: Iterator[AuditEvent]) -> Iterator[str]:
    yield "["
    separator = ""
    for event in events:
        yield separator + json.dumps(event_row(event), cls=DjangoJSONEncoder, ensure_ascii=False)
        separator = ",\n"
    yield "]\n"


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
        events = self.filter_queryset(self.get_queryset()).order_by("seq")
        rows = events.iterator(chunk_size=EXPORT_CHUNK)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        if kind == "csv":
            response = StreamingHttpResponse(
                _csv_rows(rows), content_type="text/csv; charset=utf-8"
            )
        else:
            response = StreamingHttpResponse(_json_rows(rows), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{kind}"'
        return response


@extend_schema(
    summary="Recompute the hash chain (auditors)", responses={200: VerifySerializer, **errors(403)}
)
class AuditVerifyView(ApiMixin, generics.GenericAPIView):
    permission_classes = AUDITORS
    serializer_class = VerifySerializer
    pagination_class = None
    filterset_class = None

    def get(self, request: Request) -> Response:
        result = audit.verify_chain()
        return Response(
            {
                "ok": result.ok,
                "events_checked": result.events_checked,
                "first_bad_seq": result.first_bad_seq,
                "reason": result.reason,
            }
        )


@extend_schema(
    summary="Audit snapshots, newest first (auditors)",
    responses={200: AuditSnapshotSerializer(many=True), **errors(403, 404)},
)
class AuditSnapshotListView(ApiMixin, generics.ListAPIView):
    permission_classes = AUDITORS
    serializer_class = AuditSnapshotSerializer
    filterset_class = None
    queryset = AuditSnapshot.objects.order_by("-created_at", "-pk")
