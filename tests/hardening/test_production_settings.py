"""Production refuses to start without its essentials and passes Django's deploy checklist."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

ESSENTIALS = {
    "SECRET_KEY": "a-long-random-production-secret-that-is-not-in-the-code-0123456789",
    "ALLOWED_HOSTS": "changes.example.com",
    "DATABASE_URL": "postgres://changemgmt@127.0.0.1:18202/changemgmt",
    "REDIS_URL": "redis://127.0.0.1:18203/0",
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ESSENTIALS and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "changemgmt.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", sorted(ESSENTIALS))
def test_production_refuses_to_start_without_an_essential(missing):
    env = {k: v for k, v in ESSENTIALS.items() if k != missing}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr


def test_production_refuses_sqlite():
    result = run_manage("check", **{**ESSENTIALS, "DATABASE_URL": "sqlite:////tmp/x.sqlite3"})
    assert result.returncode != 0
    assert "must name a PostgreSQL database" in result.stderr


@pytest.mark.parametrize(
    ("claim", "send", "message"),
    [
        ("EMAIL_CLAIM_TIMEOUT_SECONDS", "EMAIL_TIMEOUT", "at least twice EMAIL_TIMEOUT"),
        ("WEBHOOK_SENDING_TIMEOUT_SECONDS", "WEBHOOK_TIMEOUT_SECONDS", "at least twice WEBHOOK"),
    ],
)
def test_production_refuses_a_claim_that_lapses_while_a_send_may_still_run(claim, send, message):
    result = run_manage("check", **{**ESSENTIALS, claim: "50", send: "30"})
    assert result.returncode != 0
    assert message in result.stderr
    assert run_manage("check", **{**ESSENTIALS, claim: "60", send: "30"}).returncode == 0


def test_production_refuses_an_sla_scan_that_outlives_the_broker_visibility_timeout():
    limits = {"REDIS_VISIBILITY_TIMEOUT": "3600"}
    result = run_manage("check", **{**ESSENTIALS, **limits, "SLA_SCAN_MAX_SECONDS": "3600"})
    assert result.returncode != 0
    assert "SLA_SCAN_MAX_SECONDS must be below REDIS_VISIBILITY_TIMEOUT" in result.stderr
    ok = run_manage("check", **{**ESSENTIALS, **limits, "SLA_SCAN_MAX_SECONDS": "3000"})
    assert ok.returncode == 0


def test_the_deploy_checklist_passes_under_production_settings():
    result = run_manage(
        "check", "--deploy", "--tag", "security", "--fail-level", "WARNING", **ESSENTIALS
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_shares_its_cache_through_redis():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CACHES['default']['BACKEND'], s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.DATABASES['default']['CONN_HEALTH_CHECKS'])"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ESSENTIALS}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env={**clean, **ESSENTIALS, "DJANGO_SETTINGS_MODULE": "changemgmt.settings.production"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "True",
        "31536000",
        "True",
    ], result.stderr
