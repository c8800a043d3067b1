"""The standalone verifier, run as an auditor would run it (a separate process, nothing from the
project imported): it agrees with the application on an intact and on a tampered trail, and
checks inclusion proofs."""

import json
import subprocess
import sys
from pathlib import Path

import pgtrigger
import pytest
from django.core.management import call_command

from approvals.evidence import signing
from approvals.models import AuditEvent
from tests.api.conftest import token_client
from tests.api.scenarios import at_department_head, draft
from tests.evidence.conftest import checkpoint

pytestmark = pytest.mark.django_db

TOOL = Path(__file__).resolve().parents[2] / "tools" / "audit_verify_offline.py"


@pytest.fixture
def evidence_files(demo, evidence, settings):
    """Export the trail through the API, like an auditor, and the public key beside it."""
    at_department_head()
    draft()
    checkpoint()
    key = evidence / "audit-public.pem"
    key.write_text(signing.public_pem(signing.public_key()))

    def export() -> Path:
        response = token_client("audrey").get("/api/v1/audit-events/export/?format=json")
        path = evidence / "audit.json"
        path.write_bytes(b"".join(response.streaming_content))
        return path

    return export, key, Path(settings.AUDIT_CHECKPOINT_DIR)


def _run(export, key, checkpoints, *extra):
    process = subprocess.run(
        [
            sys.executable,
            "-I",
            str(TOOL),
            str(export),
            "--checkpoints",
            str(checkpoints),
            "--public-key",
            str(key),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return process.returncode, process.stdout + process.stderr


def test_an_intact_export_verifies_offline(evidence_files):
    export, key, checkpoints = evidence_files
    code, output = _run(export(), key, checkpoints)
    assert code == 0, output
    assert "OK: 4 events verified, 4 of them under signed checkpoint 1" in output


def test_the_offline_verifier_names_the_same_first_bad_event(evidence_files):
    export, key, checkpoints = evidence_files
    victim = AuditEvent.objects.order_by("seq")[1]
    with pgtrigger.ignore("approvals.AuditEvent:audit_append_only"):
        AuditEvent.objects.filter(pk=victim.pk).update(actor_name="mallory")

    code, output = _run(export(), key, checkpoints)
    assert code == 1
    assert output.startswith(f"BROKEN at event #{victim.seq}:")
    from approvals.evidence.verification import verify_trail

    assert verify_trail().first_bad_seq == victim.seq


def test_an_export_missing_a_signed_event_is_refused(evidence_files):
    export, key, checkpoints = evidence_files
    path = export()
    events = json.loads(path.read_text())
    dropped = events.pop(2)
    path.write_text(json.dumps(events))
    code, output = _run(path, key, checkpoints)
    assert code == 1 and f"event #{dropped['seq']}" in output and "missing" in output


def test_another_public_key_is_refused(evidence_files, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    export, _, checkpoints = evidence_files
    other = tmp_path / "other.pem"
    other.write_text(signing.public_pem(Ed25519PrivateKey.generate().public_key()))
    code, output = _run(export(), other, checkpoints)
    assert code == 1 and "signature does not verify" in output


def test_an_inclusion_proof_shows_one_event_is_in_the_signed_tree(evidence_files, capsys):
    export, key, checkpoints = evidence_files
    seq = AuditEvent.objects.order_by("seq")[2].seq
    call_command("audit_inclusion_proof", str(seq))
    proof_path = checkpoints.parent / "proof.json"
    proof_path.write_text(capsys.readouterr().out)
    path = export()

    code, output = _run(path, key, checkpoints, "--proof", str(proof_path))
    assert code == 0, output
    assert f"OK: event #{seq} is leaf 2 of the tree of 4 events" in output

    events = json.loads(path.read_text())
    events[2]["data"] = {"forged": True}
    path.write_text(json.dumps(events))
    code, output = _run(path, key, checkpoints, "--proof", str(proof_path))
    assert code == 1 and "not the event the proof is about" in output
