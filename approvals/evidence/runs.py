"""Verification runs: an auditor (or beat) asks for one, a worker runs it, its result is kept.
No page or API request ever recomputes the trail itself."""

import logging
import time

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from approvals.evidence.verification import verify_chain
from approvals.models import AuditVerification
from approvals.models.evidence import VerificationStatus

log = logging.getLogger(__name__)


def _queue(run_id: int) -> None:
    from approvals.evidence.tasks import audit_verify

    try:
        audit_verify.apply_async((run_id,), retry=False)
    except Exception:  # the broker is down: the scheduled verification picks queued runs up
        log.warning("could not queue verification run %s", run_id, exc_info=True)


def verification_request(*, requested_by: User | None) -> AuditVerification:
    """Record a queued run and hand it to a worker once the request commits."""
    run = AuditVerification.objects.create(requested_at=timezone.now(), requested_by=requested_by)
    transaction.on_commit(lambda: _queue(run.pk))
    return run


def verification_run(*, run_id: int) -> AuditVerification | None:
    """Run a queued verification and store its result; a run already taken is left alone, so a
    task delivered twice verifies once."""
    with transaction.atomic():
        run = (
            AuditVerification.objects.select_for_update()
            .filter(pk=run_id, status=VerificationStatus.QUEUED)
            .first()
        )
        if run is None:
            return None
        run.status, run.started_at = VerificationStatus.RUNNING, timezone.now()
        run.save(update_fields=["status", "started_at"])
    began = time.monotonic()
    try:
        result = verify_chain()
    except Exception as exc:
        run.status, run.reason = VerificationStatus.ERROR, f"verification could not run: {exc}"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "reason", "finished_at"])
        raise
    run.status, run.finished_at = VerificationStatus.DONE, timezone.now()
    run.ok, run.events_checked = result.ok, result.events_checked
    run.first_bad_seq, run.reason, run.checkpoint = (
        result.first_bad_seq,
        result.reason,
        result.checkpoint,
    )
    run.save()
    log.info(
        "audit verification %s: ok=%s, %s events in %.1fs",
        run.pk,
        result.ok,
        result.events_checked,
        time.monotonic() - began,
    )
    return run


def verification_scheduled() -> AuditVerification | None:
    """Beat's periodic run: the oldest queued run if one waits, else a new one."""
    waiting = (
        AuditVerification.objects.filter(status=VerificationStatus.QUEUED)
        .order_by("requested_at", "pk")
        .first()
    )
    if waiting is None:
        waiting = AuditVerification.objects.create(requested_at=timezone.now())
    return verification_run(run_id=waiting.pk)


def latest_completed() -> AuditVerification | None:
    return (
        AuditVerification.objects.filter(status=VerificationStatus.DONE)
        .order_by("-finished_at", "-pk")
        .first()
    )
