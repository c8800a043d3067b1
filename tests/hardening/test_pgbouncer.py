"""Behind PgBouncer in transaction mode, as a deployment past one machine runs: every server
connection may serve a different client's next transaction, so nothing may lean on session
state. Deciding, the streamed exports and the whole verification go through a real PgBouncer
started here, against the test database."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from approvals.models import AuditEvent
from tests.helpers import approve, assessed

ROOT = Path(__file__).resolve().parents[2]
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(PGBOUNCER), reason="needs pgbouncer"),
]

# Run in a process of its own, connected through PgBouncer.
SCRIPT = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from approvals import workflow
from approvals.models import ApprovalStep, ChangeRequest

User = get_user_model()
change = ChangeRequest.objects.get(title="Through the pooler")
step = ApprovalStep.objects.get(change=change, round=change.round, status="pending")
workflow.step_decide(actor=User.objects.get(username="mia"), change_id=change.pk,
                     decision="approve", comment="Fine.", step_id=step.pk)
client = Client()
client.force_login(User.objects.get(username="audrey"))
csv = b"".join(client.get("/api/v1/audit-events/export/?format=csv").streaming_content)
print("events", csv.count(b"\\n") - 1)
client.force_login(User.objects.get(username="mia"))
listed = b"".join(client.get("/changes/export/").streaming_content)
print("changes", listed.count(b"\\n") - 1)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def pooler():
    """PgBouncer in transaction mode in front of the test database's server."""
    settings = connection.settings_dict
    work = ROOT / "var" / "pgbouncer-test"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    work.chmod(0o777)  # PgBouncer drops root for the postgres user
    port = _free_port()
    (work / "users.txt").write_text(f'"{settings["USER"]}" ""\n')
    (work / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {work / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\n"
        # The application's connections send `-c jit=off` as a startup option, which PgBouncer
        # does not pass on: behind it the role carries the setting (README).
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {work / 'pgbouncer.log'}\n"
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (work / name).chmod(0o644)
    command = [PGBOUNCER, str(work / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        user, name = settings["USER"], settings["NAME"]
        yield f"postgres://{user}@127.0.0.1:{port}/{name}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_decisions_exports_and_verification_work_through_pgbouncer(pooler, alice):
    approve("hank", assessed(alice, title="Through the pooler"))  # at its final approval
    # Without REDIS_URL: the tasks the decision queues stay in this run's own embedded broker,
    # out of the way of the suite's real worker.
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DATABASE_URL": pooler,
        "DJANGO_SETTINGS_MODULE": "changemgmt.settings.test",
        # Persistent connections would pin one server connection per process anyway; through
        # the pooler each request takes one per transaction.
        "DATABASE_CONN_MAX_AGE": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split() for line in done.stdout.splitlines() if line[:1].isalpha())
    assert int(lines["events"]) == AuditEvent.objects.count()
    assert int(lines["changes"]) == 1
    assert AuditEvent.objects.filter(action="approved").count() == 2  # hank's and mia's

    verified = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]
