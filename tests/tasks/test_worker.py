"""End to end on real Redis: a real Celery worker runs the SLA scan, the outbox drain and the
audit snapshot, as beat would send them."""

import os
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from approvals import audit
from approvals.models import ApprovalStep, AuditSnapshot
from approvals.outbox import DISPATCH_TASK
from approvals.snapshots import SNAPSHOT_TASK
from changemgmt.celery import app
from notifications.models import Notification, SlaAction
from notifications.tasks import SLA_SCAN_TASK
from tests.helpers import assessed
from tests.tasks.conftest import open_step

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (set REDIS_URL)"),
    pytest.mark.django_db(transaction=True),
]


def wait_for(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not get there in time")


@pytest.fixture
def worker(settings):
    settings.AUDIT_EVENT_CONSUMERS = ["notifications.consumers.notify"]
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)
    # Results are ignored (CELERY_TASK_IGNORE_RESULT), so no ping round trip: we watch the
    # database instead.
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False) as w:
        yield w


def test_a_real_worker_escalates_notifies_and_seals_the_trail(alice, mia, settings, worker):
    change = assessed(alice)
    step = open_step(change)
    opened = step.opened_at - timedelta(hours=25)
    ApprovalStep.objects.filter(pk=step.pk).update(
        opened_at=opened, due_at=opened + timedelta(hours=24)
    )

    app.send_task(SLA_SCAN_TASK)
    wait_for(lambda: SlaAction.objects.filter(step=step, level="escalation").exists())
    # the scan's commit kicked the drain: mia hears she may now decide the step
    wait_for(lambda: Notification.objects.filter(user=mia, kind="escalation").exists())
    wait_for(lambda: any(m.to == ["mia@example.com"] for m in mail.outbox))

    app.send_task(DISPATCH_TASK)  # a periodic drain finds nothing new to send
    settings.AUDIT_SNAPSHOT_MARGIN_SECONDS = 0
    app.send_task(SNAPSHOT_TASK)
    wait_for(AuditSnapshot.objects.exists)
    assert Notification.objects.filter(user=mia, kind="escalation").count() == 1
    assert len([m for m in mail.outbox if m.to == ["mia@example.com"]]) == 1
    assert audit.verify_chain().ok
