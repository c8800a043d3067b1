"""Audit evidence fixtures: a signing key and a checkpoint directory of each test's own."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.evidence.checkpoints import checkpoint_write


@pytest.fixture(autouse=True)
def evidence(settings, tmp_path):
    """Each test signs with a fresh key into a fresh checkpoint directory."""
    settings.AUDIT_SIGNING_KEY = str(tmp_path / "keys" / "signing-key.pem")
    settings.AUDIT_SIGNING_KEY_CREATE = True
    settings.AUDIT_PUBLIC_KEY = ""
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    settings.AUDIT_WITNESS_URL = ""
    return tmp_path


def checkpoint():
    """A checkpoint taken once every event so far has settled (past the safety margin)."""
    return checkpoint_write(now=timezone.now() + timedelta(minutes=5))
