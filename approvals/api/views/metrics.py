"""Where changes wait: the figures of the metrics page, for integrators."""

from datetime import date
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import metrics
from approvals.api.docs import errors
from approvals.api.views.base import ApiMixin
from approvals.fields import year_out_of_range


def _sensible(value: date) -> date:
    problem = year_out_of_range(value)
    if problem:
        raise serializers.ValidationError(problem)
    return value


class PeriodQuerySerializer(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="First day (default: 89 days ago).")
    until = serializers.DateField(required=False, help_text="Last day, included (default: today).")

    def validate_since(self, value: date) -> date:
        return _sensible(value)

    def validate_until(self, value: date) -> date:
        return _sensible(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": ["Give an end on or after the start."]})
        return attrs


class WaitStatsSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="Policy name, department code or approver username.")
    name = serializers.CharField(help_text="The step's name (steps only; empty otherwise).")
    group_display = serializers.SerializerMethodField(
        help_text=(
            "The group as the metrics page names it, in the request's language "
            "(Accept-Language): the policy's name, the department's name and code, the username."
        )
    )
    name_display = serializers.SerializerMethodField(
        help_text="The step's name in the request's language (steps only; empty otherwise)."
    )
    decided = serializers.IntegerField()
    median_hours = serializers.FloatField(allow_null=True)
    p90_hours = serializers.FloatField(allow_null=True)
    overdue_open = serializers.IntegerField(help_text="Steps still open past their due time.")
    decided_late = serializers.IntegerField(help_text="Decisions made after the due time.")

    def get_group_display(self, stats: metrics.WaitStats) -> str:
        return metrics.shown(stats.group)

    def get_name_display(self, stats: metrics.WaitStats) -> str:
        return metrics.shown(stats.name)


class OutcomesSerializer(serializers.Serializer):
    decided = serializers.IntegerField()
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    completed = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    approval_rate = serializers.FloatField(allow_null=True)
    rejection_rate = serializers.FloatField(allow_null=True)
    success_rate = serializers.FloatField(allow_null=True)


class MetricsSerializer(serializers.Serializer):
    since = serializers.DateField(source="period.since")
    until = serializers.DateField(source="period.until")
    steps = WaitStatsSerializer(many=True, help_text="Per named step of each policy.")
    departments = WaitStatsSerializer(many=True, help_text="Per requester's department.")
    approvers = WaitStatsSerializer(many=True)
    outcomes = OutcomesSerializer(help_text="Changes submitted in the period.")


@extend_schema(
    summary="Waiting time per step, department and approver",
    description=(
        "Steps opened from `since` to `until` (whole days, both included): hours from a step's "
        "opening to its decision (median, 90th percentile), open steps past their due time and "
        "decisions made late; and how the changes submitted in the period ended."
    ),
    parameters=[PeriodQuerySerializer],
    responses={200: MetricsSerializer, **errors(400)},
)
class MetricsView(ApiMixin):
    def get(self, request: Request) -> Response:
        query = PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = metrics.period_of(
            since=query.validated_data.get("since"), until=query.validated_data.get("until")
        )
        return Response(MetricsSerializer(metrics.report(period=period)).data)
