"""`/api/v1/webhooks/`: change managers manage webhook subscriptions."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.api.docs import errors
from approvals.api.pagination import PagePagination
from approvals.api.views.base import ID_PATTERN, ApiMixin, IsChangeManager, acting_user
from integrations import services
from integrations.events import EVENT_TYPES
from integrations.models import WebhookSubscription
from integrations.webhooks import secret_problem


class WebhookSubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False, max_length=50
    )
    is_active = serializers.BooleanField(required=False)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        max_length=200,
        help_text="Standard Webhooks signing secret (`whsec_` and base64 of 16 to 96 bytes); "
        "generated when omitted and shown once, in the create answer.",
    )
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True
    )
    created_at = serializers.DateTimeField(read_only=True)

    def validate_url(self, value: str) -> str:
        problem = services.url_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_secret(self, value: str) -> str:
        problem = secret_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unknown or read-only fields: " + ", ".join(unknown) + "."]}
            )
        return attrs


class CreatedWebhookSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(read_only=True)


@extend_schema_view(
    list=extend_schema(
        summary="Webhook subscriptions (change managers)",
        responses={200: WebhookSubscriptionSerializer(many=True), **errors(403, 404)},
    ),
    retrieve=extend_schema(
        summary="A webhook subscription",
        responses={200: WebhookSubscriptionSerializer, **errors(403, 404)},
    ),
    create=extend_schema(
        summary="Subscribe an endpoint",
        request=WebhookSubscriptionSerializer,
        responses={201: CreatedWebhookSerializer, **errors(400, 403)},
    ),
    partial_update=extend_schema(
        summary="Change a subscription",
        request=WebhookSubscriptionSerializer,
        responses={200: WebhookSubscriptionSerializer, **errors(400, 403, 404)},
    ),
    destroy=extend_schema(summary="Unsubscribe", responses={204: None, **errors(403, 404)}),
)
class WebhookSubscriptionViewSet(ApiMixin, viewsets.GenericViewSet):
    """Outbound webhooks to https receivers on public addresses, signed as Standard Webhooks
    (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
    "<id>.<timestamp>.<body>">`), delivered at least once and retried with exponential backoff
    until the receiver answers 2xx; `webhook-id` is the same on every attempt."""

    permission_classes = [IsAuthenticated, IsChangeManager]
    serializer_class = WebhookSubscriptionSerializer
    pagination_class = PagePagination
    filterset_class = None
    lookup_value_regex = ID_PATTERN
    queryset = WebhookSubscription.objects.select_related("created_by").order_by("pk")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_create(
            actor=acting_user(request), data=dict(serializer.validated_data)
        )
        return Response(CreatedWebhookSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        subscription = self.get_object()
        serializer = self.get_serializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_update(
            actor=acting_user(request),
            subscription_id=subscription.pk,
            data=dict(serializer.validated_data),
        )
        return Response(self.get_serializer(subscription).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.subscription_delete(
            actor=acting_user(request), subscription_id=self.get_object().pk
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
