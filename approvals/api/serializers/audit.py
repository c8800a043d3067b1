"""Audit trail shapes (read-only)."""

from typing import Any

from rest_framework import serializers

from approvals.models import AuditEvent, AuditVerification
from approvals.models.evidence import VerificationStatus


def event_row(event: AuditEvent) -> dict[str, Any]:
    """An event as the API shows it (no query: names are stored on the row), with every field
    its hash covers; the exports (approvals.evidence.export) write the same fields in this
    order."""
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
        "chain": event.chain,
        "chain_index": event.chain_index,
        "snapshot": event.snapshot,
        "request_id": event.request_id,
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
    chain = serializers.CharField(help_text="`change:<id>` or `system`.")
    chain_index = serializers.IntegerField(help_text="Position in its chain, from 1.")
    snapshot = serializers.JSONField(allow_null=True, help_text="The change as it then stood.")
    request_id = serializers.CharField()

    def to_representation(self, instance: AuditEvent) -> dict[str, Any]:
        return event_row(instance)


class CheckpointSummarySerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    # A declared field, not the serializer's `root` property: DRF's metaclass moves fields aside.
    root = serializers.CharField()  # type: ignore[assignment]
    last_seq = serializers.IntegerField(allow_null=True)
    timestamp = serializers.CharField()
    file = serializers.CharField()


def verification_row(run: AuditVerification | None) -> dict[str, Any]:
    """A verification run as the API shows it; before any run, the fields of none."""
    if run is None:
        return {
            "run": None,
            "status": None,
            "ok": None,
            "events_checked": 0,
            "first_bad_seq": None,
            "reason": "",
            "requested_at": None,
            "checked_at": None,
            "checkpoint": None,
        }
    return {
        "run": run.pk,
        "status": run.status,
        "ok": run.ok,
        "events_checked": run.events_checked,
        "first_bad_seq": run.first_bad_seq,
        "reason": run.reason,
        "requested_at": run.requested_at.isoformat(),
        "checked_at": run.finished_at.isoformat() if run.finished_at else None,
        "checkpoint": run.checkpoint,
    }


class VerifySerializer(serializers.Serializer):
    run = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=VerificationStatus.choices, allow_null=True)
    ok = serializers.BooleanField(allow_null=True, help_text="null until a run has completed.")
    events_checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    requested_at = serializers.DateTimeField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    checkpoint = CheckpointSummarySerializer(
        allow_null=True, help_text="The signed checkpoint the trail was compared with."
    )

    def to_representation(self, instance: AuditVerification | None) -> dict[str, Any]:
        return verification_row(instance)


class VerifyStartedSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status_url = serializers.URLField()


class AuditSnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    first_seq = serializers.IntegerField(allow_null=True)
    last_seq = serializers.IntegerField(allow_null=True)
    event_count = serializers.IntegerField()
    digest = serializers.CharField()
    chain_heads = serializers.JSONField()
