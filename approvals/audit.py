"""The audit trail: one named function per event kind, each called inside the action's
transaction (verification lives in approvals.evidence).

Hash of an event = SHA-256(prev_hash + "\n" + canonical JSON of the event). Each change carries its
own chain head on its row, which every action already holds locked, so appending never serialises
unrelated changes; events without a change go to the system chain, whose head row is locked.
"""

import hashlib
import json
from datetime import UTC
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from approvals.evidence.verification import (  # re-exported: verification lives there
    VerifyResult as VerifyResult,
)
from approvals.evidence.verification import range_digest as range_digest
from approvals.evidence.verification import verify_chain as verify_chain
from approvals.middleware import current_request_id
from approvals.models import AuditChainHead, AuditEvent, ChangeRequest
from approvals.models.audit import SYSTEM_CHAIN

SNAPSHOT_FIELDS = (
    "title",
    "change_type",
    "category",
    "impact",
    "risk",
    "state",
    "round",
    "policy_name",
    "pre_approved",
    "requester_id",
    "implementer_id",
    "planned_start",
    "planned_end",
    "outcome",
    "version",
)


def _plain(value: Any) -> Any:
    """JSON-safe copy, so what is hashed is exactly what the database gives back."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def change_snapshot(change: ChangeRequest) -> dict[str, Any]:
    return _plain({name: getattr(change, name) for name in SNAPSHOT_FIELDS} | {"key": change.key})


def canonical(event: AuditEvent) -> str:
    body = {
        "chain": event.chain,
        "chain_index": event.chain_index,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "actor": event.actor_name,
        "on_behalf_of": event.on_behalf_of_name,
        "action": event.action,
        "change": event.change_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "data": event.data,
        "snapshot": event.snapshot,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(f"{event.prev_hash}\n{canonical(event)}".encode()).hexdigest()


def _record(
    *,
    action: str,
    actor: User | None,
    change: ChangeRequest | None = None,
    on_behalf_of: User | None = None,
    from_state: str = "",
    to_state: str = "",
    data: dict[str, Any] | None = None,
    snapshot: bool = False,
) -> AuditEvent:
    """Append one event. With a change, the caller holds its row lock and saves it afterwards
    (the new chain head travels in that same UPDATE)."""
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        on_behalf_of=on_behalf_of,
        on_behalf_of_name=on_behalf_of.get_username() if on_behalf_of else "",
        action=action,
        change=change,
        from_state=from_state,
        to_state=to_state,
        data=_plain(data or {}),
        snapshot=change_snapshot(change) if (change is not None and snapshot) else None,
        request_id=current_request_id.get(),
    )
    if change is not None:
        event.chain = f"change:{change.pk}"
        event.chain_index = change.audit_length + 1
        event.prev_hash = change.audit_head
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        change.audit_length = event.chain_index
        change.audit_head = event.hash
        return event
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=SYSTEM_CHAIN)
        event.chain = SYSTEM_CHAIN
        event.chain_index = head.length + 1
        event.prev_hash = head.head
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        head.length, head.head = event.chain_index, event.hash
        head.save(update_fields=["length", "head"])
    return event


# --- one function per event kind ------------------------------------------------------------


def change_created(*, change: ChangeRequest, actor: User, fields: dict) -> AuditEvent:
    return _record(
        action="created",
        actor=actor,
        change=change,
        to_state=change.state,
        data={"fields": fields},
        snapshot=True,
    )


def change_edited(*, change: ChangeRequest, actor: User, changes: dict) -> AuditEvent:
    return _record(
        action="edited",
        actor=actor,
        change=change,
        from_state=change.state,
        to_state=change.state,
        data={"changes": changes},
        snapshot=True,
    )


def change_transitioned(
    *,
    action: str,
    change: ChangeRequest,
    actor: User | None,
    from_state: str,
    data: dict | None = None,
    on_behalf_of: User | None = None,
) -> AuditEvent:
    return _record(
        action=action,
        actor=actor,
        change=change,
        on_behalf_of=on_behalf_of,
        from_state=from_state,
        to_state=change.state,
        data=data,
        snapshot=True,
    )


def step_decided(
    *,
    action: str,
    change: ChangeRequest,
    actor: User,
    on_behalf_of: User | None,
    from_state: str,
    data: dict,
) -> AuditEvent:
    return _record(
        action=action,
        actor=actor,
        change=change,
        on_behalf_of=on_behalf_of,
        from_state=from_state,
        to_state=change.state,
        data=data,
        snapshot=from_state != change.state,
    )


def comment_added(*, change: ChangeRequest, actor: User, comment_id: int, text: str) -> AuditEvent:
    return _record(
        action="commented",
        actor=actor,
        change=change,
        from_state=change.state,
        to_state=change.state,
        data={"comment": comment_id, "text": text},
    )


def attachment_added(*, change: ChangeRequest, actor: User, data: dict) -> AuditEvent:
    return _record(
        action="attachment_added",
        actor=actor,
        change=change,
        from_state=change.state,
        to_state=change.state,
        data=data,
    )


def step_reminded(*, change: ChangeRequest, data: dict) -> AuditEvent:
    return _record(
        action="reminder_sent",
        actor=None,
        change=change,
        from_state=change.state,
        to_state=change.state,
        data=data,
    )


def step_escalated(*, change: ChangeRequest, data: dict) -> AuditEvent:
    return _record(
        action="escalated",
        actor=None,
        change=change,
        from_state=change.state,
        to_state=change.state,
        data=data,
    )


def delegation_recorded(*, action: str, actor: User, data: dict) -> AuditEvent:
    return _record(action=action, actor=actor, data=data)


def configuration_changed(
    *, actor: User | None, model: str, object_id: Any, operation: str, data: dict
) -> AuditEvent:
    return _record(
        action=f"{model}_{operation}",
        actor=actor,
        data={"model": model, "object": object_id, "operation": operation, **data},
    )
