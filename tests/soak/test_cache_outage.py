"""While Redis (the shared cache holding throttle counters) is unreachable, the API keeps
answering: a Redis restart never turns requests into server errors."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from approvals.access.tokens import token_issue
from approvals.models import AuditEvent, Comment
from tests.helpers import new_change, user

# Nothing listens there: every cache call fails to connect.
UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:18999/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def client_for(username: str) -> APIClient:
    client = APIClient()
    token = token_issue(user=get_user_model().objects.get(username=username))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_a_comment_is_accepted_and_recorded_once_while_the_throttle_cache_is_down(demo):
    change = new_change(user("alice"))
    client = client_for("alice")
    events_before = AuditEvent.objects.filter(change=change).count()

    with override_settings(CACHES=UNREACHABLE_CACHE):
        response = client.post(
            f"/api/v1/changes/{change.pk}/comment/", {"text": "still here"}, format="json"
        )
        read = client.get("/api/v1/me/")

    assert response.status_code == 200
    assert read.status_code == 200
    assert Comment.objects.filter(change=change, text="still here").count() == 1
    assert AuditEvent.objects.filter(change=change).count() == events_before + 1


@pytest.mark.django_db
def test_the_limits_apply_again_once_the_cache_answers(demo, monkeypatch):
    cache.clear()
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute", "anon": None})
    client = client_for("alice")
    with override_settings(CACHES=UNREACHABLE_CACHE):
        during = [client.get("/api/v1/me/").status_code for _ in range(3)]

    after = [client.get("/api/v1/me/").status_code for _ in range(3)]

    assert during == [200, 200, 200]
    assert after == [200, 200, 429]
