"""Housekeeping for the API: idempotency keys are kept 24 hours, then dropped."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from approvals.api.models import IdempotencyRecord

PURGE_BATCH = 5000


def idempotency_keys_purge() -> int:
    """Delete stored answers older than the retention period; returns how many went."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    removed = 0
    while True:
        # In batches, so one run never holds a long lock on a large table.
        batch = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :PURGE_BATCH
            ]
        )
        if not batch:
            return removed
        removed += IdempotencyRecord.objects.filter(pk__in=batch).delete()[0]


@shared_task(name="approvals_api.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    """Periodic: forget idempotency keys past their 24 hours."""
    return idempotency_keys_purge()
