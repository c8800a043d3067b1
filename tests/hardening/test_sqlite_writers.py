"""The embedded default never fails a writer: on one SQLite file, several processes creating,
submitting and commenting on changes while the outbox drains all succeed (WAL, IMMEDIATE
transactions and a busy timeout)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="exercises the SQLite default; runs without it"
)
def test_concurrent_writers_on_one_sqlite_file_all_succeed(tmp_path: Path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.hardening.sqlite_writers",
            str(tmp_path / "db.sqlite3"),
            "4",
            "15",
        ],
        cwd=settings.BASE_DIR,
        env={**os.environ, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def test_the_sqlite_default_uses_wal_immediate_transactions_and_a_busy_timeout():
    from changemgmt.settings import base

    options = base.DATABASES["default"]["OPTIONS"]
    if base.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip("DATABASE_URL names another database")
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert options["timeout"] >= 5
