"""Reference data: departments, policies, the standard-change catalogue, and the caller."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.api.docs import errors
from approvals.api.serializers.reference import (
    DepartmentSerializer,
    MeSerializer,
    PolicySerializer,
    TemplateSerializer,
)
from approvals.api.views.base import ApiMixin, acting_user
from approvals.choices import TemplateStatus
from approvals.models import ChangeTemplate, Department, Policy, PolicyStep

User = get_user_model()


@extend_schema(
    summary="Departments", responses={200: DepartmentSerializer(many=True), **errors(404)}
)
class DepartmentListView(ApiMixin, generics.ListAPIView):
    serializer_class = DepartmentSerializer
    filterset_class = None
    queryset = Department.objects.select_related("head").order_by("code")


@extend_schema(
    summary="Approval policies and their routes",
    responses={200: PolicySerializer(many=True), **errors(404)},
)
class PolicyListView(ApiMixin, generics.ListAPIView):
    serializer_class = PolicySerializer
    filterset_class = None
    queryset = Policy.objects.prefetch_related(
        Prefetch(
            "steps",
            queryset=PolicyStep.objects.select_related("escalation_group")
            .prefetch_related("groups")
            .order_by("order"),
        )
    ).order_by("change_type", "min_level", "priority", "pk")


@extend_schema(
    summary="The standard-change catalogue",
    responses={200: TemplateSerializer(many=True), **errors(404)},
)
class TemplateListView(ApiMixin, generics.ListAPIView):
    serializer_class = TemplateSerializer
    filterset_class = None
    queryset = (
        ChangeTemplate.objects.filter(status=TemplateStatus.APPROVED)
        .select_related("approved_by")
        .prefetch_related("departments")
    )


@extend_schema(summary="Who you are: department and roles", responses={200: MeSerializer})
class MeView(ApiMixin, generics.GenericAPIView):
    serializer_class = MeSerializer
    pagination_class = None
    filterset_class = None

    def get(self, request: Request) -> Response:
        actor = self.actor
        user = acting_user(request)
        department = (
            Department.objects.filter(pk=actor.department_id).first()
            if actor.department_id is not None
            else None
        )
        acting_for = User.objects.filter(pk__in=actor.delegator_ids).order_by("username")
        return Response(
            MeSerializer(
                {
                    "username": user.get_username(),
                    "full_name": user.get_full_name(),
                    "email": user.email,
                    "department": department.code if department else None,
                    "roles": sorted(actor.roles),
                    "acting_for": [u.username for u in acting_for],
                }
            ).data
        )


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """JSON 404 for paths under the API that match no endpoint."""
    return JsonResponse({"detail": "Not found."}, status=404)
