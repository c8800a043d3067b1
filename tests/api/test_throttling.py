"""Throttling per user and per anonymous address: 429 with Retry-After."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


def test_a_user_over_the_rate_gets_429_with_retry_after(demo, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": None})
    client = token_client("alice")
    statuses = [client.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = client.get("/api/v1/me/")
    assert int(throttled["Retry-After"]) > 0
    assert "detail" in throttled.json()
    # another user has their own allowance
    assert token_client("bob").get("/api/v1/me/").status_code == 200


def test_anonymous_callers_are_throttled_by_address(demo, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute", "user": None})
    client = APIClient()
    body = {"username": "alice", "password": "wrong"}
    statuses = [
        client.post("/api/v1/auth/token/", body, format="json").status_code for _ in range(3)
    ]
    assert statuses == [400, 400, 429]
