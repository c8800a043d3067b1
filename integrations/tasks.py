"""Celery tasks for webhooks: thin, idempotent, retried with exponential backoff."""

from typing import Any

from celery import shared_task
from django.conf import settings

from integrations import webhooks

BACKOFF_BASE = 30  # seconds; 30 s, 1 min, 2 min, … capped below
BACKOFF_CAP = 6 * 3600


def backoff(attempt: int) -> int:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    return min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_CAP)


@shared_task(bind=True, name="integrations.deliver_webhook", ignore_result=True, max_retries=None)
def deliver_webhook(self: Any, delivery_id: int) -> bool | None:
    """Send one webhook delivery; on failure retry later, until WEBHOOK_MAX_ATTEMPTS."""
    attempt = self.request.retries + 1
    last = attempt >= settings.WEBHOOK_MAX_ATTEMPTS
    wait = None if last else backoff(attempt)
    outcome = webhooks.deliver(delivery_id, retry_in=wait)
    if outcome is False and wait is not None:
        raise self.retry(countdown=wait)
    return outcome


@shared_task(name="integrations.requeue_webhooks", ignore_result=True)
def requeue_webhooks() -> int:
    """Periodic sweep: queue deliveries still owed (broker outage, lost message, dead worker)."""
    return webhooks.requeue_owed()
