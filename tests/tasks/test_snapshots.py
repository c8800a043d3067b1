"""Periodic audit snapshots seal the settled trail; verification checks them."""

from datetime import timedelta

import pgtrigger
import pytest
from django.core.management import CommandError, call_command

from approvals import audit
from approvals.models import AuditEvent, AuditSnapshot
from approvals.snapshots import audit_snapshot, audit_snapshot_take
from tests.helpers import approve, assessed, new_change
from tests.tasks.conftest import T0

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def test_a_snapshot_seals_only_events_older_than_the_safety_margin(alice, at):
    at(T0)
    settled = new_change(alice)
    at(T0 + 30 * MINUTE)
    young = new_change(alice)
    at(T0 + 30 * MINUTE + 30 * timedelta(seconds=1))

    snapshot = audit_snapshot_take()
    last_settled = AuditEvent.objects.filter(change=settled).latest("seq").seq
    assert snapshot.last_seq == last_settled
    assert snapshot.last_seq < AuditEvent.objects.get(change=young).seq
    assert snapshot.event_count == AuditEvent.objects.filter(seq__lte=last_settled).count()
    assert snapshot.chain_heads[f"change:{settled.pk}"]["head"] == settled.audit_head
    assert f"change:{young.pk}" not in snapshot.chain_heads

    at(T0 + 32 * MINUTE)
    later = audit_snapshot_take()
    assert later.first_seq == snapshot.last_seq + 1
    assert later.chain_heads[f"change:{young.pk}"]["length"] == 1


def test_nothing_new_means_no_snapshot(alice, at):
    at(T0)
    new_change(alice)
    at(T0 + 5 * MINUTE)
    assert audit_snapshot_take() is not None
    assert audit_snapshot_take() is None
    assert audit_snapshot.apply().get() is None


def test_successive_snapshots_cover_the_trail_without_gaps_and_verify(alice, at):
    at(T0)
    change = assessed(alice)
    at(T0 + 2 * MINUTE)
    first = audit_snapshot_take()
    approve("hank", change)
    at(T0 + 4 * MINUTE)
    second = audit_snapshot_take()
    assert second.first_seq == first.last_seq + 1
    total = AuditEvent.objects.filter(seq__lte=second.last_seq).count()
    assert first.event_count + second.event_count == total
    assert audit.verify_chain().ok
    call_command("verify_audit")


def test_verification_names_the_first_event_of_a_snapshot_that_no_longer_matches(alice, at):
    at(T0)
    new_change(alice)
    at(T0 + 2 * MINUTE)
    snapshot = audit_snapshot_take()
    with pgtrigger.ignore("approvals.AuditSnapshot:audit_snapshot_append_only"):
        AuditSnapshot.objects.filter(pk=snapshot.pk).update(event_count=snapshot.event_count - 1)

    result = audit.verify_chain()
    assert not result.ok
    assert result.first_bad_seq == snapshot.first_seq
    assert "snapshot" in result.reason
    with pytest.raises(CommandError, match=f"BROKEN at event #{snapshot.first_seq}"):
        call_command("verify_audit")


@pytest.mark.postgres
def test_snapshots_cannot_be_edited_on_postgres(alice, at):
    from django.db import DatabaseError, transaction

    at(T0)
    new_change(alice)
    at(T0 + 2 * MINUTE)
    snapshot = audit_snapshot_take()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSnapshot.objects.filter(pk=snapshot.pk).update(digest="0" * 64)
