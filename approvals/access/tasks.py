from celery import shared_task

from approvals.access.tokens import tokens_purge_expired


@shared_task(name="access.purge_expired_tokens", ignore_result=True)
def purge_expired_tokens() -> int:
    """Hourly: expired API tokens are deleted (they stopped working when they expired)."""
    return tokens_purge_expired()
