"""Delegation shapes: what the API shows, and what a new delegation must look like."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from approvals.limits import DELEGATION_REASON_MAX
from approvals.models import Delegation


class DelegationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    delegator = serializers.CharField(source="delegator.username", help_text="The absent approver.")
    delegate = serializers.CharField(source="delegate.username")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    status = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=["planned", "active", "ended"]))
    def get_status(self, delegation: Delegation) -> str:
        now = timezone.now()
        if delegation.ends_at <= now:
            return "ended"
        return "active" if delegation.starts_at <= now else "planned"


class DelegationCreateSerializer(serializers.Serializer):
    delegate = serializers.CharField(max_length=150, help_text="Username of the delegate.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(
        max_length=DELEGATION_REASON_MAX, required=False, allow_blank=True, default=""
    )
    delegator = serializers.CharField(
        max_length=150,
        required=False,
        help_text="Whose seats are lent (change managers only); by default the caller's.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unknown fields: " + ", ".join(unknown) + "."]}
            )
        return attrs
