"""Tampering by someone holding the database's superuser, after a signed checkpoint: each kind
is found, and the first bad event is named exactly."""

import json
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from approvals import audit
from approvals.api.serializers.audit import event_row
from approvals.evidence import signing
from approvals.evidence.verification import verify_trail
from approvals.models import AuditEvent, AuditSnapshot, ChangeRequest
from approvals.snapshots import audit_snapshot_take
from tests.evidence.conftest import checkpoint
from tests.evidence.test_offline_verifier import TOOL
from tests.helpers import approve, assessed, new_change

pytestmark = pytest.mark.django_db

TABLES = ("approvals_auditevent", "approvals_auditsnapshot")


def _as_superuser(*statements):
    """Edit behind the application's back, as the database superuser can: on PostgreSQL with
    the append-only triggers switched off first."""
    on_postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if on_postgres:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for sql, params in statements:
            if not on_postgres:
                sql = sql.replace("TRUNCATE", "DELETE FROM")
            cursor.execute(sql, params)
        if on_postgres:
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


@pytest.fixture
def trail(alice, bob):
    """Three changes, sealed by a snapshot and a signed checkpoint."""
    first = approve("hank", assessed(alice))
    second = approve("fiona", assessed(bob))
    third = new_change(alice)
    audit_snapshot_take(now=timezone.now() + timedelta(minutes=5))
    checkpoint()
    assert verify_trail().ok
    return first, second, third


def _offline_first_bad(folder):
    """What the standalone verifier says about an export of the trail as it now stands."""
    export = folder / "audit.json"
    export.write_text(
        json.dumps([event_row(e) for e in AuditEvent.objects.order_by("seq")], default=str)
    )
    key = folder / "public.pem"
    key.write_text(signing.public_pem(signing.public_key()))
    process = subprocess.run(
        [
            sys.executable,
            "-I",
            str(TOOL),
            str(export),
            "--checkpoints",
            str(folder / "checkpoints"),
            "--public-key",
            str(key),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.match(r"BROKEN at event #(\d+):", process.stdout)
    return int(found.group(1)) if found else None


def _rechain(event, **changes):
    """Rewrite one event and recompute the rest of its chain and the change's head, as an
    attacker who knows the (unkeyed) hash would."""
    later = list(AuditEvent.objects.filter(chain=event.chain, seq__gte=event.seq).order_by("seq"))
    statements, prev = [], event.prev_hash
    for position, row in enumerate(later):
        if position == 0:
            for name, value in changes.items():
                setattr(row, name, value)
        row.prev_hash = prev
        row.hash = audit.compute_hash(row)
        prev = row.hash
        statements.append(
            (
                "UPDATE approvals_auditevent SET actor_name = %s, prev_hash = %s, hash = %s "
                "WHERE seq = %s",
                [row.actor_name, row.prev_hash, row.hash, row.seq],
            )
        )
    statements.append(
        (
            "UPDATE approvals_changerequest SET audit_head = %s WHERE id = %s",
            [prev, event.change_id],
        )
    )
    return statements


def test_rewriting_who_approved_and_rechaining_is_named_at_the_rewritten_event(trail, evidence):
    first, _, _ = trail
    approval = AuditEvent.objects.get(change=first, action="approved")
    _as_superuser(*_rechain(approval, actor_name="fiona"))

    result = verify_trail()
    assert not result.ok
    assert result.first_bad_seq == approval.seq
    assert "rewritten" in result.reason
    assert _offline_first_bad(evidence) == approval.seq


def test_dropping_a_changes_last_event_is_named_at_the_dropped_event(trail, evidence):
    first, _, _ = trail
    last, before = AuditEvent.objects.filter(change=first).order_by("-seq")[:2]
    _as_superuser(
        ("DELETE FROM approvals_auditevent WHERE seq = %s", [last.seq]),
        (
            "UPDATE approvals_changerequest SET audit_length = %s, audit_head = %s, state = %s "
            "WHERE id = %s",
            [before.chain_index, before.hash, before.to_state, first.pk],
        ),
    )

    result = verify_trail()
    assert (result.ok, result.first_bad_seq) == (False, last.seq)
    assert "missing" in result.reason
    assert _offline_first_bad(evidence) == last.seq


def test_erasing_a_changes_whole_history_is_named_at_its_first_event(trail, evidence):
    _, second, _ = trail
    seqs = list(AuditEvent.objects.filter(change=second).values_list("seq", flat=True))
    _as_superuser(
        ("DELETE FROM approvals_auditevent WHERE change_id = %s", [second.pk]),
        (
            "UPDATE approvals_changerequest SET audit_length = 0, audit_head = '' WHERE id = %s",
            [second.pk],
        ),
    )

    result = verify_trail()
    assert (result.ok, result.first_bad_seq) == (False, min(seqs))
    assert _offline_first_bad(evidence) == min(seqs)


def test_truncating_the_snapshots_is_named_at_the_first_sealed_event(trail):
    sealed = AuditSnapshot.objects.get()
    _as_superuser(("TRUNCATE approvals_auditsnapshot", []))

    result = verify_trail()
    assert (result.ok, result.first_bad_seq) == (False, sealed.first_seq)
    assert "snapshot" in result.reason and "missing" in result.reason


def test_reordering_two_events_is_named_at_the_earlier_position(trail, evidence):
    first, second, _ = trail
    a = AuditEvent.objects.filter(change=first).order_by("seq").first().seq
    b = AuditEvent.objects.filter(change=second).order_by("seq").first().seq
    _as_superuser(
        ("UPDATE approvals_auditevent SET seq = -1 WHERE seq = %s", [a]),
        ("UPDATE approvals_auditevent SET seq = %s WHERE seq = %s", [a, b]),
        ("UPDATE approvals_auditevent SET seq = %s WHERE seq = -1", [b]),
    )

    result = verify_trail()
    assert (result.ok, result.first_bad_seq) == (False, a)
    assert _offline_first_bad(evidence) == a


def test_a_change_row_that_disagrees_with_its_trail_is_named_at_its_last_event(trail):
    first, _, _ = trail
    last = AuditEvent.objects.filter(change=first).order_by("-seq").first()
    ChangeRequest.objects.filter(pk=first.pk).update(state="approved")

    result = verify_trail()
    assert (result.ok, result.first_bad_seq) == (False, last.seq)
    assert "state" in result.reason


def test_a_decision_row_that_disagrees_with_the_trail_is_named_at_the_decision_event(trail):
    from approvals.models import Decision
    from tests.helpers import user

    first, _, _ = trail
    approval = AuditEvent.objects.get(change=first, action="approved")
    Decision.objects.filter(step_id=approval.data["step_id"]).update(approver=user("fiona"))

    result = verify_trail()
    assert (result.ok, result.first_bad_seq) == (False, approval.seq)
    assert "hank's approve" in result.reason


def test_a_decision_row_removed_leaves_its_event_unmatched(trail):
    from approvals.models import Decision

    first, _, _ = trail
    approval = AuditEvent.objects.get(change=first, action="approved")
    Decision.objects.filter(step_id=approval.data["step_id"]).delete()

    result = verify_trail()
    assert (result.ok, result.first_bad_seq) == (False, approval.seq)
    assert f"event #{approval.seq} records hank's approve" in result.reason


def test_a_decision_row_added_without_an_event_is_named(trail):
    from approvals.models import Decision
    from tests.helpers import user

    first, _, _ = trail
    approval = AuditEvent.objects.get(change=first, action="approved")
    real = Decision.objects.get(step_id=approval.data["step_id"])
    forged = Decision.objects.create(
        step_id=real.step_id,
        approver=user("fiona"),
        seat=user("fiona"),
        decision=real.decision,
        comment="",
        voided=True,  # beside the live one, as a void row may be
    )

    result = verify_trail()
    assert (result.ok, result.first_bad_seq) == (False, None)
    assert f"decision {forged.pk} (fiona's approve on step {real.step_id}" in result.reason
    assert "has no audit event" in result.reason
