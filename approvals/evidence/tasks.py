"""Beat's audit evidence jobs and the verification runs auditors start."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from approvals.evidence import checkpoints, runs

CHECKPOINT_TASK = "approvals.audit_checkpoint"
VERIFY_TASK = "approvals.audit_verify"
SCHEDULED_VERIFY_TASK = "approvals.audit_verify_scheduled"


@shared_task(
    name=CHECKPOINT_TASK,
    autoretry_for=(OperationalError, InterfaceError),
    **settings.TASK_RETRY_POLICY,
)
def audit_checkpoint() -> int | None:
    """Sign the events settled since the last checkpoint; safe to run twice (one writer at a
    time, and a second run finds nothing new)."""
    written = checkpoints.checkpoint_write()
    return written.number if written else None


@shared_task(
    name=VERIFY_TASK, autoretry_for=(OperationalError, InterfaceError), **settings.TASK_RETRY_POLICY
)
def audit_verify(run_id: int) -> bool | None:
    run = runs.verification_run(run_id=run_id)
    return run.ok if run else None


@shared_task(name=SCHEDULED_VERIFY_TASK)
def audit_verify_scheduled() -> bool | None:
    run = runs.verification_scheduled()
    return run.ok if run else None
