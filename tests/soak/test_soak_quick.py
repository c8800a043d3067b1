"""The soak harness in its quickest form: its own PostgreSQL, Redis, gunicorn, worker and beat,
a few race trials, an idempotency burst and two fault kinds; it must pass and say so."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from soak.servers import FAKETIME_LIBRARY, postgres_bin

ROOT = Path(__file__).resolve().parent.parent.parent


def _servers_available() -> bool:
    try:
        postgres_bin("initdb")
    except RuntimeError:
        return False
    return shutil.which("redis-server") is not None and Path(FAKETIME_LIBRARY).exists()


@pytest.mark.postgres
@pytest.mark.skipif(
    not _servers_available(), reason="needs PostgreSQL's initdb, redis-server and libfaketime"
)
def test_the_quickest_soak_loses_nothing_duplicates_nothing_and_answers_no_5xx():
    # Under the repository's var/ rather than pytest's private temporary folder: the cluster's
    # server runs as the postgres user and must reach its data directory.
    var = ROOT / "var" / "soak-test"
    env = dict(os.environ)
    for inherited in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CACHE_URL"):
        env.pop(inherited, None)
    env.update(
        {
            "SOAK_TRIALS": "4",
            "SOAK_IDEMPOTENT": "20",
            "SOAK_FAULTS": "web_kill,poisoned_event",
            "SOAK_INJECTIONS": "2",
            "SOAK_SECONDS": "240",
            "SOAK_PORT_BASE": os.environ.get("SOAK_TEST_PORT_BASE", "18950"),
            "SOAK_VAR": str(var),
        }
    )

    done = subprocess.run(
        [sys.executable, "-m", "soak"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-4000:]
    report = json.loads((var / "latest.json").read_text())
    assert report["passed"] is True
    assert report["race"]["trials"] == 4
    assert report["idempotency"]["effects"] == 1
    assert set(report["faults"]) == {"web_kill", "poisoned_event"}
    assert report["lost"] == report["duplicated"] == report["five_xx"] == 0
    assert report["chain_verifies"] is True
