"""/health/ reports the database, cache, scheduler heartbeat and outbox lag; /health/live/ only
what a web process needs."""

import time
from datetime import timedelta

from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from changemgmt import health


def test_the_liveness_check_answers_ok_in_json(demo):
    response = Client().get("/health/live/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert set(response.json().values()) == {"OK"}


def test_health_fails_until_the_scheduler_has_beaten(demo):
    response = Client().get("/health/?format=json")
    assert response.status_code == 500
    assert "Unavailable: No heartbeat from the scheduler yet." in response.json().values()


def test_health_passes_with_a_recent_heartbeat_and_no_outbox_backlog(demo, monkeypatch):
    health.heartbeat()
    monkeypatch.setattr(health, "oldest_undelivered_age", lambda: None)
    response = Client().get("/health/?format=json")
    assert response.status_code == 200, response.json()
    assert set(response.json().values()) == {"OK"}


def test_a_stale_heartbeat_fails_the_check(demo, settings):
    cache.set(health.HEARTBEAT_KEY, time.time() - settings.HEALTH_BEAT_MAX_AGE_SECONDS - 5)
    response = Client().get("/health/?format=json")
    assert response.status_code == 500
    assert any("Last scheduler heartbeat" in value for value in response.json().values())


def test_outbox_lag_is_the_age_of_the_oldest_undelivered_event(demo, monkeypatch, settings):
    health.heartbeat()
    monkeypatch.setattr(health, "oldest_undelivered_age", lambda: timedelta(hours=1))
    assert health.outbox_lag_seconds() == 3600
    settings.HEALTH_OUTBOX_MAX_LAG_SECONDS = 900
    response = Client().get("/health/?format=json")
    assert response.status_code == 500
    assert (
        "Unavailable: Oldest undelivered audit event is 3600 seconds old."
        in response.json().values()
    )


def test_the_heartbeat_task_stamps_the_cache(demo):
    cache.delete(health.HEARTBEAT_KEY)
    assert health.heartbeat_age_seconds() is None
    health.heartbeat.apply()
    assert 0 <= health.heartbeat_age_seconds() < 5
    assert timezone.now()  # the stamp is wall-clock time, independent of the database
