"""Reference data shapes: departments, policies, templates and the caller."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from approvals.choices import Category, ChangeType, Impact, Level, StepKind
from approvals.models import PolicyStep


class DepartmentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    head = serializers.CharField(source="head.username", allow_null=True)


class PolicyStepSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=StepKind.choices)
    approver_rule = serializers.CharField()
    groups = serializers.SerializerMethodField()
    quorum = serializers.CharField()
    sla_hours = serializers.IntegerField()
    escalation_group = serializers.CharField(source="escalation_group.name")
    only_if_cross_department = serializers.BooleanField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_groups(self, step: PolicyStep) -> list[str]:
        return sorted(g.name for g in step.groups.all())


class PolicySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    change_type = serializers.ChoiceField(choices=ChangeType.choices)
    min_level = serializers.SerializerMethodField()
    max_level = serializers.SerializerMethodField()
    priority = serializers.IntegerField()
    is_active = serializers.BooleanField()
    steps = PolicyStepSerializer(many=True)

    @extend_schema_field(serializers.ChoiceField(choices=Impact.choices))
    def get_min_level(self, policy: Any) -> str:
        return Level(policy.min_level).name.lower()

    @extend_schema_field(serializers.ChoiceField(choices=Impact.choices))
    def get_max_level(self, policy: Any) -> str:
        return Level(policy.max_level).name.lower()


class TemplateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    impact = serializers.ChoiceField(choices=Impact.choices)
    backout_plan = serializers.CharField()
    test_plan = serializers.CharField()
    approved_by = serializers.CharField(source="approved_by.username")
    approved_at = serializers.DateTimeField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    email = serializers.CharField()
    department = serializers.CharField(allow_null=True, help_text="Department code.")
    roles = serializers.ListField(child=serializers.CharField())
    acting_for = serializers.ListField(
        child=serializers.CharField(), help_text="Approvers whose seat you hold by delegation now."
    )


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField()
    otp = serializers.CharField(
        required=False,
        max_length=32,
        help_text="A code from the account's authenticator (or a recovery code), for accounts "
        "with two-step sign-in.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
