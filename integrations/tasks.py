"""Celery tasks for webhooks: thin and idempotent. A task makes one attempt and never retries
with a countdown: a failed delivery records when it is due again and the periodic sweep queues it
then, so no message waits in the broker beyond its visibility timeout."""

from celery import shared_task

from integrations import webhooks


@shared_task(name=webhooks.DELIVER_TASK, ignore_result=True)
def deliver_webhook(delivery_id: int) -> bool | None:
    """One attempt at one webhook delivery (see webhooks.deliver)."""
    return webhooks.deliver(delivery_id)


@shared_task(name="integrations.requeue_webhooks", ignore_result=True)
def requeue_webhooks() -> int:
    """Periodic sweep: queue deliveries that are due (retries, lost messages, dead workers)."""
    return webhooks.requeue_owed()
