"""The audit trail: one named function per event kind, each called inside the action's
transaction (verification lives in approvals.evidence).

Hash of an event = SHA-256(prev_hash + "\n" + canonical JSON of the event). Each change carries its
own chain head on its row, which every action already holds locked, so appending never serialises
unrelated changes; events without a change go to the system chain, whose head row is locked.
"""

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from approvals.choices import AuditAction
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


_pending: ContextVar[list[AuditEvent] | None] = ContextVar("audit_pending", default=None)
_stamp: ContextVar[datetime | None] = ContextVar("audit_stamp", default=None)


@contextmanager
def inserted_together(*, at: datetime | None = None) -> Iterator[None]:
    """Events on changes recorded inside the block are inserted in one statement as it ends,
    for actions on many changes at once (the SLA scan); their ids are set only then. The
    caller's transaction holds the changes' row locks throughout and saves their chain heads
    afterwards, as for single events. `at` stamps them with that time instead of this process's
    clock (the scan passes the database's, so a worker whose clock jumped dates nothing wrong)."""
    token = _pending.set([])
    stamp = _stamp.set(at)
    try:
        yield
        AuditEvent.objects.bulk_create(_pending.get() or [])
    finally:
        _stamp.reset(stamp)
        _pending.reset(token)


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
        occurred_at=_stamp.get() or timezone.now(),
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
        pending = _pending.get()
        if pending is None:
            event.save(force_insert=True)
        else:
            pending.append(event)
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


def comment_added(
    *,
    change: ChangeRequest,
    actor: User,
    comment_id: int,
    text: str,
    mentioned: Sequence[tuple[int, str]] = (),
) -> AuditEvent:
    """`mentioned`: (id, username) of each person the comment tells; recorded only when there
    is someone, so a comment without mentions reads as it always did."""
    data: dict[str, Any] = {"comment": comment_id, "text": text}
    if mentioned:
        data["mentions"] = [username for _, username in mentioned]
        data["mentioned_ids"] = [pk for pk, _ in mentioned]
    return _record(
        action="commented",
        actor=actor,
        change=change,
        from_state=change.state,
        to_state=change.state,
        data=data,
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


def _configuration_data(
    *, model: str, object_id: Any, operation: str, before: dict | None, after: dict | None
) -> dict[str, Any]:
    """What every configuration event says: which row, what was done, its values before and
    after (None when it did not exist) and the names of the values that differ."""
    before, after = _plain(before), _plain(after)
    names = sorted(set(before or {}) | set(after or {}))
    changed = [n for n in names if (before or {}).get(n) != (after or {}).get(n)]
    return {
        "model": model,
        "object": object_id,
        "operation": operation,
        "before": before,
        "after": after,
        "changed": changed,
    }


def configuration_changed(
    *,
    actor: User | None,
    model: str,
    object_id: Any,
    operation: str,
    before: dict | None = None,
    after: dict | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """A configuration row (policy, department, window, template, user, webhook…) was created,
    updated or deleted; `data` adds details to the event (never secrets)."""
    described = _configuration_data(
        model=model, object_id=object_id, operation=operation, before=before, after=after
    )
    return _record(
        action=AuditAction.CONFIGURATION_CHANGED, actor=actor, data={**(data or {}), **described}
    )


def roles_changed(
    *, actor: User, user_id: int, operation: str, before: dict | None, after: dict | None
) -> AuditEvent:
    """A user's roles (group membership) changed, possibly with other values of their account."""
    return _record(
        action=AuditAction.ROLES_CHANGED,
        actor=actor,
        data=_configuration_data(
            model="user", object_id=user_id, operation=operation, before=before, after=after
        ),
    )


def template_status_changed(
    *,
    action: AuditAction,
    actor: User | None,
    template_id: int,
    before: dict,
    after: dict,
    change_id: int | None = None,
) -> AuditEvent:
    """A standard-change template was approved, suspended (a change from it failed) or retired."""
    data = _configuration_data(
        model="changetemplate",
        object_id=template_id,
        operation=str(action.value).removeprefix("template_"),
        before=before,
        after=after,
    )
    if change_id is not None:
        data["change"] = change_id
    return _record(action=action, actor=actor, data=data)


def delegation_recorded(
    *,
    action: AuditAction,
    actor: User,
    delegation_id: int,
    before: dict | None,
    after: dict | None,
) -> AuditEvent:
    """A delegation was created, ended early or cancelled; its values are also given at the top
    level of the data (delegator, delegate, dates, reason)."""
    data = _configuration_data(
        model="delegation",
        object_id=delegation_id,
        operation=str(action.value).removeprefix("delegation_"),
        before=before,
        after=after,
    )
    return _record(
        action=action,
        actor=actor,
        data={"delegation": delegation_id, **(after or before or {}), **data},
    )


# --- the outbox's dead letters ----------------------------------------------------------------


def _dead_letter_data(dead_letter: Any) -> dict[str, Any]:
    return {
        "event": dead_letter.event_id,
        "consumer": dead_letter.consumer,
        "attempts": dead_letter.attempts,
        "last_error": dead_letter.last_error[:500],
    }


def dead_letter_retried(*, actor: User, dead_letter: Any) -> AuditEvent:
    """A change manager sent an event that failed in a consumer through it once more."""
    return _record(action="dead_letter_retried", actor=actor, data=_dead_letter_data(dead_letter))


def dead_letter_dismissed(*, actor: User, dead_letter: Any) -> AuditEvent:
    """A change manager gave up on an event that failed in a consumer."""
    return _record(action="dead_letter_dismissed", actor=actor, data=_dead_letter_data(dead_letter))


# --- access --------------------------------------------------------------------------------


def login_locked_out(*, username: str, ip_address: str, path: str, failures: int) -> AuditEvent:
    """A sign-in was locked out after `failures` wrong passwords for `username` from one address."""
    return _record(
        action="login_locked_out",
        actor=None,
        data={"username": username, "ip_address": ip_address, "path": path, "failures": failures},
    )


def directory_account_synced(
    *, user_id: int, source: str, operation: str, before: dict | None, after: dict | None
) -> AuditEvent:
    """A sign-in through a directory (`oidc`, `ldap`) created an account or changed its roles or
    department from the directory's groups and attributes. Recorded like an administrator's
    grant (`roles_changed` when the roles moved), with the directory as its source."""
    before, after = _plain(before), _plain(after)
    moved = (before or {}).get("groups") != (after or {}).get("groups")
    data = _configuration_data(
        model="user", object_id=user_id, operation=operation, before=before, after=after
    )
    action = AuditAction.ROLES_CHANGED if moved else AuditAction.CONFIGURATION_CHANGED
    return _record(action=action, actor=None, data={"source": source, **data})


def mfa_recorded(*, user: User, action: str, data: dict[str, Any] | None = None) -> AuditEvent:
    """Second-factor bookkeeping of `user`: `mfa_enrolled`, `mfa_removed`,
    `mfa_recovery_codes_renewed` or `mfa_recovery_code_used` (never a code or a secret)."""
    return _record(action=action, actor=user, data={"user": user.get_username(), **(data or {})})
