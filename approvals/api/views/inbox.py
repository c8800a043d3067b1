"""The approver's inbox: open steps the caller may decide now, oldest due first."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics

from approvals.api.docs import errors
from approvals.api.pagination import LinkPagination
from approvals.api.serializers.changes import InboxItemSerializer
from approvals.api.views.base import ApiMixin
from approvals.models import ApprovalStep
from approvals.selectors import inbox


@extend_schema(
    summary="Steps waiting for your decision",
    responses={200: InboxItemSerializer(many=True), **errors(404)},
)
class InboxView(ApiMixin, generics.ListAPIView):
    serializer_class = InboxItemSerializer
    pagination_class = LinkPagination
    filterset_class = None
    queryset = ApprovalStep.objects.none()

    def get_queryset(self) -> Any:
        return inbox(self.actor)
