"""Audit trail shapes (read-only)."""

from typing import Any

from rest_framework import serializers

from approvals.models import AuditEvent

EVENT_FIELDS = (
    "seq",
    "occurred_at",
    "actor",
    "on_behalf_of",
    "action",
    "change",
    "from_state",
    "to_state",
    "data",
    "prev_hash",
    "hash",
)


def event_row(event: AuditEvent) -> dict[str, Any]:
    """An event as the API and the exports show it (no query: names are stored on the row)."""
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor_name or None,
        "on_behalf_of": event.on_behalf_of_name or None,
        "action": event.action,
        "change": event.change_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


class AuditEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True, help_text="Username; null for the system.")
    on_behalf_of = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    change = serializers.IntegerField(allow_null=True)
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    # A declared field, not the `data` property: DRF's metaclass moves fields aside.
    data = serializers.JSONField()  # type: ignore[assignment]
    prev_hash = serializers.CharField()
    hash = serializers.CharField()

    def to_representation(self, instance: AuditEvent) -> dict[str, Any]:
        return event_row(instance)


class VerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    events_checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class AuditSnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    first_seq = serializers.IntegerField(allow_null=True)
    last_seq = serializers.IntegerField(allow_null=True)
    event_count = serializers.IntegerField()
    digest = serializers.CharField()
    chain_heads = serializers.JSONField()
