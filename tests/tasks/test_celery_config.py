"""The Celery app as beat and the worker see it."""

from django.conf import settings

from changemgmt.celery import app


def test_every_scheduled_job_is_a_task_the_worker_knows():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "notifications.sla_scan",
        "approvals.dispatch_events",
        "approvals.audit_snapshot",
        "notifications.send_pending_emails",
    } <= scheduled
    mine = {name for name in scheduled if name.split(".")[0] in {"notifications", "approvals"}}
    assert mine <= set(app.tasks)


def test_tasks_are_acknowledged_late_and_taken_one_at_a_time():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_the_outbox_drain_retries_with_backoff():
    app.loader.import_default_modules()
    task = app.tasks["approvals.dispatch_events"]
    assert task.autoretry_for and task.retry_backoff and task.retry_jitter
    assert task.max_retries == settings.TASK_RETRY_POLICY["max_retries"]
