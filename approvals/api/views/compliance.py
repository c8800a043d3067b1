"""Compliance evidence for a period (auditors and change managers), as JSON or CSV."""

import csv
import io
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.api.docs import errors
from approvals.api.views.audit import ExportNegotiation
from approvals.api.views.base import ApiMixin, actor_of
from approvals.choices import Role
from approvals.evidence.compliance import compliance_report, default_period
from approvals.fields import year_out_of_range

FORMATS = ["iso-8601", "%Y-%m-%d"]
CSV_COLUMNS = (
    "change",
    "key",
    "control",
    "detail",
    "events",
    "checkpoint_tree_size",
    "checkpoint_root",
)


class ReadsCompliance(BasePermission):
    message = "Only auditors and change managers may read the compliance report."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(actor_of(request).roles & {Role.AUDITOR, Role.CHANGE_MANAGER})


class SensibleDateTimeField(serializers.DateTimeField):
    """An instant within the sensible years, refused before any time-zone arithmetic (which
    overflows at the calendar's ends)."""

    def enforce_timezone(self, value: datetime) -> datetime:
        problem = year_out_of_range(value)
        if problem:
            raise serializers.ValidationError(problem)
        return super().enforce_timezone(value)


class PeriodSerializer(serializers.Serializer):
    since = SensibleDateTimeField(required=False, input_formats=FORMATS)
    until = SensibleDateTimeField(required=False, input_formats=FORMATS)
    format = serializers.ChoiceField(choices=["json", "csv"], required=False, default="json")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = default_period()
        attrs.setdefault("since", since)
        attrs.setdefault("until", until)
        if attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["Give an end after the start."]})
        return attrs


class ExceptionSerializer(serializers.Serializer):
    change = serializers.IntegerField()
    key = serializers.CharField()
    control = serializers.CharField()
    detail = serializers.CharField()
    events = serializers.ListField(child=serializers.IntegerField(), help_text="Audit event seqs.")


class ControlSerializer(serializers.Serializer):
    control = serializers.CharField()
    title = serializers.CharField()
    exceptions = serializers.IntegerField()


class ComplianceSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    changes_checked = serializers.IntegerField()
    controls = ControlSerializer(many=True)
    exceptions = ExceptionSerializer(many=True)
    checkpoint = serializers.JSONField(allow_null=True, help_text="The latest signed checkpoint.")
    verification = serializers.JSONField(allow_null=True, help_text="The latest verification.")


def report_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    checkpoint = report["checkpoint"] or {}
    for item in report["exceptions"]:
        writer.writerow(
            [
                item["change"],
                item["key"],
                item["control"],
                item["detail"],
                " ".join(str(seq) for seq in item["events"]),
                checkpoint.get("tree_size", ""),
                checkpoint.get("root", ""),
            ]
        )
    return out.getvalue()


@extend_schema(
    summary="Compliance of every change started in a period (auditors, change managers)",
    parameters=[
        OpenApiParameter("since", OpenApiTypes.DATETIME, description="Default: 30 days ago."),
        OpenApiParameter("until", OpenApiTypes.DATETIME, description="Default: now."),
        OpenApiParameter("format", str, enum=["json", "csv"]),
    ],
    responses={
        (200, "application/json"): ComplianceSerializer,
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR, description="`format=csv`: one exception a row."
        ),
        **errors(400, 403),
    },
)
class ComplianceView(ApiMixin, generics.GenericAPIView):
    permission_classes = (IsAuthenticated, ReadsCompliance)
    content_negotiation_class = ExportNegotiation
    renderer_classes = [JSONRenderer]
    serializer_class = ComplianceSerializer
    pagination_class = None
    filterset_class = None

    def get(self, request: Request) -> Response | HttpResponse:
        period = PeriodSerializer(data=request.query_params)
        period.is_valid(raise_exception=True)
        query = period.validated_data
        report = compliance_report(since=query["since"], until=query["until"]).as_dict()
        if query["format"] == "csv":
            response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="compliance.csv"'
            return response
        return Response(report)
