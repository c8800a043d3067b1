"""Throttles that stand aside while the shared cache is unreachable.

Throttle counters live in the cache (Redis in production). A Redis restart must not turn every
API request into a server error: while the cache cannot be reached, requests are let through
(logged) and the limits apply again as soon as it is back."""

import logging
from typing import Any

from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)

# Redis (production) or the filesystem (embedded cache folder) failing underneath the cache.
CACHE_ERRORS = (RedisError, OSError)


class FailOpen(BaseThrottle):
    """Wraps a configured throttle; its decision stands whenever the cache answers."""

    def __init__(self, throttle: BaseThrottle) -> None:
        self.throttle = throttle

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return self.throttle.allow_request(request, view)
        except CACHE_ERRORS:
            log.warning("throttle cache unreachable; request let through", exc_info=True)
            return True

    def wait(self) -> float | None:
        return self.throttle.wait()
