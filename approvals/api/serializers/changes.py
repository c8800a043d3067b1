"""Shapes of change requests in and out. They validate shapes only; the domain decides."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from approvals.choices import (
    Category,
    ChangeState,
    ChangeType,
    DecisionKind,
    Impact,
    Outcome,
    ReviewOutcome,
    Risk,
    StepKind,
    StepStatus,
)
from approvals.limits import DESCRIPTION_MAX, NARRATIVE_MAX, NOTE_MAX, PLAN_MAX, TITLE_MAX
from approvals.models import ApprovalStep, ChangeRequest
from approvals.policy import ACTIONS, is_overdue
from approvals.selectors import (
    actions_for,
    decisions_of,
    departments_of,
    route_of,
    seats_of,
    warnings_for,
)

ID_LIMIT = 2**53  # larger ids cannot exist; refusing them keeps databases from overflowing

# Lists serialise hundreds of steps and decisions: rows are built as plain dicts. A test holds
# these builders equal to the declared serializers, which the schema documents.


def _when(value: Any) -> Any:
    """What DRF's DateTimeField gives for an aware datetime (ISO 8601 in the current time zone,
    `Z` for UTC), without its per-call settings look-ups: a list page formats thousands."""
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def decision_row(decision: Any) -> dict[str, Any]:
    return {
        "approver": decision.approver.username,
        "on_behalf_of": decision.on_behalf_of.username if decision.on_behalf_of_id else None,
        "decision": decision.decision,
        "comment": decision.comment,
        "decided_at": _when(decision.decided_at),
        "escalated": decision.escalated,
        "outcome": decision.review_outcome,
        "actions": decision.follow_up_actions,
    }


def step_row(step: ApprovalStep) -> dict[str, Any]:
    return {
        "id": step.pk,
        "order": step.order,
        "name": step.name,
        "kind": step.kind,
        "quorum": step.quorum,
        "status": step.status,
        "due_at": _when(step.due_at),
        "approvers": [seat.user.username for seat in seats_of(step)],
        "decisions": [decision_row(d) for d in decisions_of(step) if not d.voided],
    }


class DecisionOutSerializer(serializers.Serializer):
    approver = serializers.CharField(source="approver.username")
    on_behalf_of = serializers.CharField(source="on_behalf_of.username", allow_null=True)
    decision = serializers.ChoiceField(choices=DecisionKind.choices)
    comment = serializers.CharField()
    decided_at = serializers.DateTimeField()
    escalated = serializers.BooleanField()
    outcome = serializers.CharField(
        source="review_outcome", help_text="Reviews: `accepted` or `follow_up`; else empty."
    )
    actions = serializers.CharField(source="follow_up_actions")


# What a warning is about (named `WarningKindEnum` in the schema: ENUM_NAME_OVERRIDES).
WARNING_KINDS = ("blackout", "conflict", "outside_window", "no_eligible_approver")


class WarningSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=WARNING_KINDS)
    detail = serializers.CharField()
    window = serializers.CharField(required=False, help_text="`blackout`: the window's name.")
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    step = serializers.IntegerField(required=False, help_text="`no_eligible_approver`: the step.")


class RouteStepSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Name it as `step` when deciding.")
    order = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=StepKind.choices)
    quorum = serializers.CharField(help_text="`any`, `all` or a number of approvals.")
    status = serializers.ChoiceField(choices=StepStatus.choices)
    due_at = serializers.DateTimeField(allow_null=True)
    approvers = serializers.SerializerMethodField()
    decisions = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_approvers(self, step: ApprovalStep) -> list[str]:
        return [seat.user.username for seat in seats_of(step)]

    @extend_schema_field(DecisionOutSerializer(many=True))
    def get_decisions(self, step: ApprovalStep) -> Any:
        decisions = [d for d in decisions_of(step) if not d.voided]
        return DecisionOutSerializer(decisions, many=True).data

    def to_representation(self, instance: ApprovalStep) -> dict[str, Any]:
        return step_row(instance)


class ChangeSerializer(serializers.Serializer):
    """A change as the API shows it. Needs rows loaded with `selectors.with_route` and, in the
    context, the `actor` and the blackout `windows` of the request."""

    id = serializers.IntegerField()
    key = serializers.CharField()
    state = serializers.ChoiceField(choices=ChangeState.choices)
    requester = serializers.CharField(source="requester.username")
    title = serializers.CharField()
    description = serializers.CharField()
    goal = serializers.CharField()
    scope = serializers.CharField()
    expected_impact = serializers.CharField()
    change_type = serializers.ChoiceField(choices=ChangeType.choices)
    template = serializers.IntegerField(source="template_id", allow_null=True)
    category = serializers.CharField(help_text="One of: " + ", ".join(Category.values) + ".")
    impact = serializers.ChoiceField(choices=Impact.choices)
    risk = serializers.CharField(help_text="`low`, `medium`, `high`, or empty before assessment.")
    departments = serializers.SerializerMethodField()
    implementer = serializers.CharField(source="implementer.username", allow_null=True)
    planned_start = serializers.DateTimeField(allow_null=True)
    planned_end = serializers.DateTimeField(allow_null=True)
    backout_plan = serializers.CharField()
    test_plan = serializers.CharField()
    policy_name = serializers.CharField()
    pre_approved = serializers.BooleanField()
    assessment_notes = serializers.CharField()
    outcome = serializers.CharField()
    completion_notes = serializers.CharField()
    feedback_summary = serializers.CharField()
    feedback_lessons = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    route = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_departments(self, change: ChangeRequest) -> list[str]:
        return sorted(d.code for d in departments_of(change))

    @extend_schema_field(RouteStepSerializer(many=True))
    def get_route(self, change: ChangeRequest) -> Any:
        return [step_row(step) for step in route_of(change)]

    def to_representation(self, instance: ChangeRequest) -> dict[str, Any]:
        change = instance
        return {
            "id": change.pk,
            "key": change.key,
            "state": change.state,
            "requester": change.requester.username,
            **{name: getattr(change, name) for name in PLAIN_FIELDS},
            "template": change.template_id,
            "departments": self.get_departments(change),
            "implementer": change.implementer.username if change.implementer is not None else None,
            **{name: _when(getattr(change, name)) for name in TIME_FIELDS},
            "route": self.get_route(change),
            "allowed_actions": self.get_allowed_actions(change),
            "warnings": self.get_warnings(change),
            "version": change.version,
        }

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ACTIONS)))
    def get_allowed_actions(self, change: ChangeRequest) -> list[str]:
        return actions_for(self.context["actor"], change, windows=self.context["windows"])

    @extend_schema_field(WarningSerializer(many=True))
    def get_warnings(self, change: ChangeRequest) -> Any:
        return [
            {
                key: _when(value) if isinstance(value, datetime) else value
                for key, value in w.items()
            }
            for w in warnings_for(change, windows=self.context["windows"])
        ]


# Fields shown as stored (text, choices, flags) and the instants, in the declared order's groups.
PLAIN_FIELDS = (
    "title",
    "description",
    "goal",
    "scope",
    "expected_impact",
    "change_type",
    "category",
    "impact",
    "risk",
    "backout_plan",
    "test_plan",
    "policy_name",
    "pre_approved",
    "assessment_notes",
    "outcome",
    "completion_notes",
    "feedback_summary",
    "feedback_lessons",
)
TIME_FIELDS = (
    "planned_start",
    "planned_end",
    "submitted_at",
    "approved_at",
    "started_at",
    "completed_at",
    "closed_at",
    "created_at",
    "updated_at",
)


class ChangeWriteSerializer(serializers.Serializer):
    """Writable fields of a change (POST creates a draft; PATCH edits a draft)."""

    title = serializers.CharField(max_length=TITLE_MAX, help_text="One line.")
    description = serializers.CharField(max_length=DESCRIPTION_MAX)
    goal = serializers.CharField(required=False, allow_blank=True, max_length=NARRATIVE_MAX)
    scope = serializers.CharField(required=False, allow_blank=True, max_length=NARRATIVE_MAX)
    expected_impact = serializers.CharField(
        required=False, allow_blank=True, max_length=NARRATIVE_MAX
    )
    change_type = serializers.ChoiceField(choices=ChangeType.choices)
    template = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=ID_LIMIT,
        help_text="Catalogue template id: required for `standard`, refused otherwise.",
    )
    category = serializers.ChoiceField(choices=Category.choices, required=False, allow_blank=True)
    impact = serializers.ChoiceField(
        choices=Impact.choices,
        help_text="Required, except for `standard` (it takes the template's impact).",
    )
    departments = serializers.ListField(
        child=serializers.CharField(max_length=16),
        required=False,
        max_length=100,
        help_text="Department codes; the requester's own department is always included.",
    )
    implementer = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=150, help_text="Username."
    )
    planned_start = serializers.DateTimeField(required=False, allow_null=True)
    planned_end = serializers.DateTimeField(required=False, allow_null=True)
    backout_plan = serializers.CharField(required=False, allow_blank=True, max_length=PLAN_MAX)
    test_plan = serializers.CharField(required=False, allow_blank=True, max_length=PLAN_MAX)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = getattr(self, "initial_data", None)
        if isinstance(data, dict) and data.get("change_type") == ChangeType.STANDARD:
            # A standard change takes its impact from its template.
            self.fields["impact"].required = False

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unknown or read-only fields: " + ", ".join(unknown) + "."]}
            )
        return attrs


class AssessSerializer(serializers.Serializer):
    impact = serializers.ChoiceField(choices=Impact.choices)
    risk = serializers.ChoiceField(choices=Risk.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX)


STEP_HELP = (
    "The route step decided (its `id`). Without it, the open step; with it, a decision for a step "
    "that is no longer open answers 409 `stale_step`."
)


class ApproveSerializer(serializers.Serializer):
    step = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_LIMIT, help_text=STEP_HELP
    )
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX
    )
    outcome = serializers.ChoiceField(
        choices=ReviewOutcome.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Review steps only: `accepted` (default) or `follow_up` with `actions`.",
    )
    actions = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX
    )


class ReasonedDecisionSerializer(serializers.Serializer):
    step = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_LIMIT, help_text=STEP_HELP
    )
    comment = serializers.CharField(
        max_length=NOTE_MAX, help_text="Why: required for reject and request_info."
    )


class ReassignSerializer(serializers.Serializer):
    step = serializers.IntegerField(min_value=1, max_value=ID_LIMIT, help_text="The open step.")
    # "from" is a Python keyword, hence the source mapping.
    from_ = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=150, help_text="Username."
    )
    to = serializers.CharField(max_length=150, help_text="Username.")
    reason = serializers.CharField(max_length=NOTE_MAX)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class RescheduleSerializer(serializers.Serializer):
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField()
    reason = serializers.CharField(max_length=NOTE_MAX)


class WithdrawSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX
    )


class CompleteSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX)


class FeedbackSerializer(serializers.Serializer):
    summary = serializers.CharField(max_length=NOTE_MAX)
    lessons = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX
    )


class CommentInSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=NOTE_MAX)


class CommentSerializer(serializers.Serializer):
    """Needs, in the context, `mentions`: comment id → the usernames it notified."""

    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    mentions = serializers.SerializerMethodField(
        help_text="Who the comment's `@username`s notified: people who may see the change, "
        "never its author."
    )

    def get_mentions(self, comment: Any) -> list[str]:
        return list(self.context.get("mentions", {}).get(comment.pk, []))


class CommentedChangeSerializer(ChangeSerializer):
    """The change after a comment, and who the comment notified."""

    mentions = serializers.ListField(
        child=serializers.CharField(),
        help_text="Who the comment's `@username`s notified: people who may see the change, "
        "never its author.",
    )


class AttachmentInSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    created_at = serializers.DateTimeField()
    download = serializers.SerializerMethodField()

    def get_download(self, attachment: Any) -> str:
        request = self.context["request"]
        return request.build_absolute_uri(
            f"/api/v1/changes/{attachment.change_id}/attachments/{attachment.pk}/download/"
        )


class InboxChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    change_type = serializers.ChoiceField(choices=ChangeType.choices)
    impact = serializers.ChoiceField(choices=Impact.choices)
    risk = serializers.CharField()
    state = serializers.ChoiceField(choices=ChangeState.choices)
    requester = serializers.CharField(source="requester.username")
    departments = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_departments(self, change: ChangeRequest) -> list[str]:
        return sorted(d.code for d in departments_of(change))


class InboxStepSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Name it as `step` when deciding.")
    order = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=StepKind.choices)
    due_at = serializers.DateTimeField(allow_null=True)


class InboxItemSerializer(serializers.Serializer):
    """One open step the caller may decide, with its change."""

    change = InboxChangeSerializer()
    step = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    def to_representation(self, instance: ApprovalStep) -> dict[str, Any]:
        change = instance.change
        return {
            "change": {
                "id": change.pk,
                "key": change.key,
                "title": change.title,
                "change_type": change.change_type,
                "impact": change.impact,
                "risk": change.risk,
                "state": change.state,
                "requester": change.requester.username,
                "departments": sorted(d.code for d in departments_of(change)),
            },
            "step": {
                "id": instance.pk,
                "order": instance.order,
                "name": instance.name,
                "kind": instance.kind,
                "due_at": _when(instance.due_at),
            },
            "overdue": self.get_overdue(instance),
        }

    @extend_schema_field(InboxStepSerializer())
    def get_step(self, step: ApprovalStep) -> dict[str, Any]:
        return InboxStepSerializer(step).data

    def get_overdue(self, step: ApprovalStep) -> bool:
        return is_overdue(step, timezone.now())
