"""List filters (django-filter). Bad values answer 400, never 500."""

from datetime import UTC, datetime

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django_filters.fields import IsoDateTimeField

from approvals.choices import ChangeState, ChangeType, Impact
from approvals.models import AuditEvent, ChangeRequest

ID_LIMIT = 2**53


class ChangeFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=ChangeState.choices)
    change_type = django_filters.ChoiceFilter(choices=ChangeType.choices)
    impact = django_filters.ChoiceFilter(choices=Impact.choices)
    requester = django_filters.CharFilter(
        field_name="requester__username", max_length=150, help_text="Username."
    )
    department = django_filters.CharFilter(
        field_name="departments__code", max_length=16, help_text="Department code."
    )
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Words in the title or description."
    )
    ordering = django_filters.OrderingFilter(fields=("created_at", "updated_at"))

    class Meta:
        model = ChangeRequest
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))


class UtcDateTimeField(IsoDateTimeField):
    """ISO 8601 instant, turned into UTC here: databases refuse exotic offsets such as +20:01."""

    def to_python(self, value: str | None) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Date and time out of range.") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class AuditEventFilter(django_filters.FilterSet):
    change = django_filters.NumberFilter(
        field_name="change_id", min_value=1, max_value=ID_LIMIT, help_text="Change id."
    )
    actor = django_filters.CharFilter(
        field_name="actor_name", max_length=150, help_text="Username."
    )
    action = django_filters.CharFilter(max_length=40)
    since = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields: list[str] = []
