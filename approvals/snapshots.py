"""Audit snapshots: a periodic seal over the trail written since the previous one.

Each snapshot covers the sequence numbers right after the previous snapshot's last one, so the
sealed ranges are contiguous and every event belongs to exactly one snapshot. Verification
recomputes each range's count and digest; a removed, added or altered event shows up there. The
signed checkpoints (approvals.evidence) carry every snapshot's seal too, so removing snapshot
rows is noticed as well; on PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE of them.
"""

from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Max, Min, Subquery
from django.utils import timezone

from approvals.evidence.verification import range_digest
from approvals.models import AuditEvent, AuditSnapshot

SNAPSHOT_TASK = "approvals.audit_snapshot"

# Any constant works: it names the advisory lock that serialises snapshot writers on PostgreSQL.
_SNAPSHOT_LOCK_KEY = 0x5A5E_A1ED


def _serialise_writers() -> None:
    # Two snapshot runs at once would both start after the same previous snapshot and seal
    # overlapping ranges. On PostgreSQL a transaction-scoped advisory lock makes the second wait
    # and then see the first one's snapshot; SQLite already admits one writer at a time.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SNAPSHOT_LOCK_KEY])


def _sealable_last_seq(after: int, cutoff: datetime) -> int | None:
    """The last event of the run right after `after` whose events are all older than `cutoff`.

    Sequence numbers are allocated at insert, but a transaction commits later: an event with a
    lower number may still appear. Events older than the safety margin are taken as settled, and
    the first younger event ends the run, so a late commit can only land after the sealed range.
    """
    newer = AuditEvent.objects.filter(seq__gt=after)
    first_young = newer.filter(occurred_at__gte=cutoff).aggregate(seq=Min("seq"))["seq"]
    settled = newer.filter(occurred_at__lt=cutoff)
    if first_young is not None:
        settled = settled.filter(seq__lt=first_young)
    return settled.aggregate(seq=Max("seq"))["seq"]


def _chain_heads(first_seq: int, last_seq: int) -> dict[str, dict[str, Any]]:
    """Length and head hash, as of `last_seq`, of every chain that grew inside the range."""
    last_of_chain = (
        AuditEvent.objects.filter(seq__gte=first_seq, seq__lte=last_seq)
        .values("chain")
        .annotate(last=Max("seq"))
        .values("last")
    )
    rows = AuditEvent.objects.filter(seq__in=Subquery(last_of_chain)).values_list(
        "chain", "chain_index", "hash", "seq"
    )
    return {
        chain: {"length": length, "head": head, "seq": seq}
        for chain, length, head, seq in rows.order_by("chain")
    }


def audit_snapshot_take(
    *, now: datetime | None = None, margin: timedelta | None = None
) -> AuditSnapshot | None:
    """Seal the settled events written since the last snapshot; None when there are none."""
    now = now or timezone.now()
    if margin is None:
        margin = timedelta(seconds=settings.AUDIT_SNAPSHOT_MARGIN_SECONDS)
    with transaction.atomic():
        _serialise_writers()
        previous = AuditSnapshot.objects.aggregate(last=Max("last_seq"))["last"] or 0
        last_seq = _sealable_last_seq(previous, now - margin)
        if last_seq is None:
            return None
        first_seq = previous + 1
        count, digest = range_digest(first_seq, last_seq)
        return AuditSnapshot.objects.create(
            first_seq=first_seq,
            last_seq=last_seq,
            event_count=count,
            digest=digest,
            chain_heads=_chain_heads(first_seq, last_seq),
        )


@shared_task(
    name=SNAPSHOT_TASK,
    autoretry_for=(OperationalError, InterfaceError),
    **settings.TASK_RETRY_POLICY,
)
def audit_snapshot() -> int | None:
    """Hourly seal of the audit trail; safe to run twice (the second finds nothing new)."""
    snapshot = audit_snapshot_take()
    return snapshot.pk if snapshot else None
