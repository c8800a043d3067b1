"""`/api/v1/delegations/`: out-of-office delegations, through the same services as the page."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.api.docs import errors
from approvals.api.pagination import PagePagination
from approvals.api.serializers.delegations import DelegationCreateSerializer, DelegationSerializer
from approvals.api.views.base import ID_PATTERN, ApiMixin, acting_user
from approvals.exceptions import NotFound
from approvals.models import Delegation
from approvals.workflow import delegations


@extend_schema_view(
    list=extend_schema(
        summary="Your delegations, given and received (change managers and auditors: all)",
        responses={200: DelegationSerializer(many=True), **errors(404)},
    ),
    create=extend_schema(
        summary="Lend your seats to a delegate for a period",
        request=DelegationCreateSerializer,
        responses={201: DelegationSerializer, **errors(400, 403)},
    ),
    destroy=extend_schema(
        summary="End a delegation now (one not started yet is cancelled)",
        responses={204: None, **errors(403, 404, 409)},
    ),
)
class DelegationViewSet(ApiMixin, viewsets.GenericViewSet):
    serializer_class = DelegationSerializer
    pagination_class = PagePagination
    filterset_class = None
    lookup_value_regex = ID_PATTERN
    queryset = Delegation.objects.none()

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return delegations.delegations_visible_to(self.actor)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DelegationSerializer(page, many=True).data)

    def create(self, request: Request) -> Response:
        serializer = DelegationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        delegation = delegations.delegation_create(
            actor=acting_user(request),
            delegator=data.get("delegator"),
            delegate=data["delegate"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data["reason"],
        )
        return Response(DelegationSerializer(delegation).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        if not self.get_queryset().filter(pk=int(pk)).exists():
            raise NotFound("No such delegation.")
        delegations.delegation_end(actor=acting_user(request), delegation_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
