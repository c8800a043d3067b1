"""API test fixtures: token-authenticated clients per demo user, throttle counters reset."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from approvals.access.tokens import token_issue

User = get_user_model()


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    # Throttle counters live in the cache; each test starts with a clean slate.
    cache.clear()


def token_client(username: str) -> APIClient:
    client = APIClient()
    token = token_issue(user=User.objects.get(username=username))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def api(demo) -> Callable[[str | None], APIClient]:
    """`api("alice")` is a client with alice's token; `api(None)` is anonymous."""

    def make(username: str | None) -> APIClient:
        return APIClient() if username is None else token_client(username)

    return make


def body(response: Any) -> Any:
    return response.json()
