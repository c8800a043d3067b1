"""Signed checkpoints: written outside the database, incremental, never extended when they
cannot be trusted, and sent to a witness when one is configured."""

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from approvals.evidence import signing
from approvals.evidence.checkpoints import (
    CheckpointError,
    checkpoint_files,
    checkpoint_write,
    read_checkpoints,
)
from approvals.evidence.merkle import leaf_hash, tree_root
from approvals.models import AuditCheckpoint, AuditEvent
from tests.evidence.conftest import checkpoint
from tests.helpers import approve, assessed, new_change

pytestmark = pytest.mark.django_db


def _document(path: Path) -> dict:
    return json.loads(path.read_bytes())


def test_a_checkpoint_signs_the_root_of_every_settled_event_in_seq_order(alice):
    approve("hank", assessed(alice))
    written = checkpoint()

    events = list(AuditEvent.objects.order_by("seq").values_list("seq", "hash"))
    document = _document(checkpoint_files()[0])
    head = document["checkpoint"]
    assert head["tree_size"] == len(events) == written.tree_size
    assert head["root"] == tree_root(leaf_hash(s, h) for s, h in events).hex() == written.root
    assert [tuple(leaf) for leaf in document["leaves"]] == events
    assert head["previous"] is None and head["number"] == 1
    assert head["key_id"] == signing.key_id(signing.public_key())
    assert [c.head["root"] for c in read_checkpoints()] == [head["root"]]


def test_the_next_checkpoint_carries_only_the_new_events_and_names_the_previous(alice):
    new_change(alice)
    first = checkpoint()
    second_change = new_change(alice)
    second = checkpoint()

    document = _document(checkpoint_files()[-1])
    assert [leaf[0] for leaf in document["leaves"]] == [
        AuditEvent.objects.get(change=second_change).seq
    ]
    assert document["checkpoint"]["previous"] == {
        "number": first.number,
        "tree_size": first.tree_size,
        "root": first.root,
    }
    assert second.tree_size == first.tree_size + 1


def test_events_younger_than_the_margin_wait_for_the_next_checkpoint(alice):
    new_change(alice)
    assert checkpoint_write() is None  # written just now: not settled yet
    assert checkpoint_write(now=timezone.now() + timedelta(minutes=1)).tree_size == 1


def test_nothing_new_writes_no_checkpoint(alice):
    new_change(alice)
    assert checkpoint() is not None
    assert checkpoint() is None
    assert len(checkpoint_files()) == AuditCheckpoint.objects.count() == 1


def test_the_signing_key_is_created_readable_by_its_owner_only(alice):
    new_change(alice)
    checkpoint()
    mode = os.stat(settings.AUDIT_SIGNING_KEY).st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_a_checkpoint_file_altered_in_the_sink_is_never_extended(alice):
    new_change(alice)
    checkpoint()
    path = checkpoint_files()[0]
    document = _document(path)
    document["checkpoint"]["tree_size"] += 1
    path.write_text(json.dumps(document))
    new_change(alice)

    with pytest.raises(CheckpointError, match="signature"):
        checkpoint()
    assert len(checkpoint_files()) == AuditCheckpoint.objects.count() == 1


def test_checkpoints_signed_with_another_key_are_refused(alice, settings, tmp_path):
    new_change(alice)
    checkpoint()
    settings.AUDIT_SIGNING_KEY = str(tmp_path / "other.pem")
    new_change(alice)
    with pytest.raises(CheckpointError, match="signature"):
        checkpoint()


def test_a_missing_checkpoint_file_breaks_the_sequence(alice):
    for _ in range(3):
        new_change(alice)
        checkpoint()
    checkpoint_files()[1].unlink()
    with pytest.raises(CheckpointError, match="does not follow"):
        list(read_checkpoints())


def test_the_witness_receives_each_signed_head(alice, settings, monkeypatch):
    sent = []

    class Answer:
        def raise_for_status(self):
            return None

    def post(url, json, timeout):
        sent.append((url, json))
        return Answer()

    monkeypatch.setattr("approvals.evidence.checkpoints.requests.post", post)
    settings.AUDIT_WITNESS_URL = "https://witness.example/checkpoints"
    new_change(alice)
    written = checkpoint()

    assert [url for url, _ in sent] == ["https://witness.example/checkpoints"]
    assert sent[0][1]["checkpoint"]["root"] == written.root
    assert set(sent[0][1]) == {"checkpoint", "signature"}
    assert written.witness == "sent"


def test_the_command_catches_up_in_several_checkpoints(alice, settings, capsys):
    settings.AUDIT_CHECKPOINT_MARGIN_SECONDS = 0.000001
    settings.AUDIT_CHECKPOINT_MAX_LEAVES = 2
    approve("hank", assessed(alice))  # four events
    call_command("audit_checkpoint")
    assert [c.tree_size for c in AuditCheckpoint.objects.order_by("number")] == [2, 4]
    assert "checkpoint 2: 4 events" in capsys.readouterr().out


def test_beat_writes_a_checkpoint_every_minute_and_verifies_hourly():
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["approvals.audit_checkpoint"]["schedule"] == settings.AUDIT_CHECKPOINT_SECONDS
    assert settings.AUDIT_CHECKPOINT_SECONDS == 60.0
    assert "approvals.audit_verify_scheduled" in schedule
