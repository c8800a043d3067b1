"""Health checks (django-health-check): `/health/` checks everything an operator needs to know
about; `/health/live/` only what a web process needs to serve (database, cache), for a container
healthcheck or a load balancer.

The scheduler is checked end to end: beat queues a heartbeat task, a worker runs it and stamps
the cache, and the check reads the stamp's age.
"""

import dataclasses
import time
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from approvals.outbox import oldest_undelivered_age

HEARTBEAT_KEY = "health:beat-heartbeat"


@shared_task(name="changemgmt.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Queued by beat, run by a worker: proves scheduler, broker and worker all work."""
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def heartbeat_age_seconds() -> float | None:
    stamp = cache.get(HEARTBEAT_KEY)
    return None if stamp is None else max(0.0, time.time() - float(stamp))


def outbox_lag_seconds() -> float:
    """Age of the oldest audit event not yet delivered to every consumer (0 when none)."""
    age = oldest_undelivered_age()
    return 0.0 if age is None else age.total_seconds()


@dataclasses.dataclass
class BeatHeartbeat(HealthCheck):
    """The periodic jobs run: the heartbeat is recent."""

    def run(self) -> None:
        age = heartbeat_age_seconds()
        if age is None:
            raise ServiceUnavailable("No heartbeat from the scheduler yet.")
        if age > settings.HEALTH_BEAT_MAX_AGE_SECONDS:
            raise ServiceUnavailable(f"Last scheduler heartbeat {age:.0f} seconds ago.")


@dataclasses.dataclass
class OutboxLag(HealthCheck):
    """Notifications and webhooks keep up: no audit event waits too long for a consumer."""

    def run(self) -> None:
        try:
            lag = outbox_lag_seconds()
        finally:
            connections.close_all()  # checks run in a worker thread with its own connection
        if lag > settings.HEALTH_OUTBOX_MAX_LAG_SECONDS:
            raise ServiceUnavailable(f"Oldest undelivered audit event is {lag:.0f} seconds old.")


def _broker_checks() -> list[Any]:
    if not settings.REDIS_URL:
        return []  # the embedded broker is a local folder; the heartbeat proves it works
    from health_check.contrib.redis import Redis
    from redis.asyncio import Redis as RedisClient

    url = settings.REDIS_URL
    return [(Redis, {"client_factory": lambda: RedisClient.from_url(url)})]


LIVE_CHECKS: list[Any] = ["health_check.checks.Database", "health_check.checks.Cache"]


def full_view() -> Any:
    return HealthCheckView.as_view(
        checks=[*LIVE_CHECKS, *_broker_checks(), BeatHeartbeat, OutboxLag]
    )


def live_view() -> Any:
    return HealthCheckView.as_view(checks=LIVE_CHECKS)
