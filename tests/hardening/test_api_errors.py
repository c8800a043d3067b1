"""Every error under /api/ is JSON: bodies too large (413), malformed or too deeply nested JSON
(400), CSRF failures (403), URLs too long (414), the database unreachable (503 + Retry-After)."""

from unittest import mock

import pytest
from django.db import connections
from django.db.utils import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from approvals.models import ChangeRequest
from tests.api.conftest import token_client

NEW = {
    "title": "Rotate certificates",
    "description": "Yearly rotation.",
    "change_type": "normal",
    "category": "security",
    "impact": "low",
    "departments": ["IT"],
}


def post_raw(client: APIClient, path: str, body: bytes, content_type: str = "application/json"):
    return client.generic("POST", path, body, content_type=content_type)


def test_a_body_over_the_limit_is_refused_with_json_413(demo, settings):
    client = token_client("alice")
    before = ChangeRequest.objects.count()
    body = b'{"title": "x", "description": "' + b"a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    response = post_raw(client, "/api/v1/changes/", body)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert ChangeRequest.objects.count() == before


def test_deeply_nested_json_is_a_json_400(demo):
    client = token_client("alice")
    before = ChangeRequest.objects.count()
    response = post_raw(client, "/api/v1/changes/", b"[" * 100_000)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert ChangeRequest.objects.count() == before


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b'{"title": NaN', b"[]"])
def test_malformed_json_is_a_json_400(demo, body):
    response = post_raw(token_client("alice"), "/api/v1/changes/", body)
    assert response.status_code == 400
    assert response.json()


def test_a_csrf_failure_under_the_api_is_json(demo, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for path in ("/api/v1/no-such-endpoint/", "/api/v1/changes/"):
        response = client.post(path, NEW, content_type="application/json")
        assert response.status_code == 403
        assert response["Content-Type"] == "application/json"
        assert "CSRF" in response.json()["detail"]


def test_a_very_long_url_is_answered_in_json(demo):
    response = token_client("alice").get("/api/v1/changes/?search=" + "x" * 5000)
    assert response.status_code == 414
    assert "too long" in response.json()["detail"]


def test_a_long_url_within_the_limit_is_answered_as_usual(demo):
    response = token_client("alice").get("/api/v1/changes/?search=x&" + "a=1&" * 900)
    assert response.status_code == 200


def test_an_unreachable_database_is_a_json_503_with_retry_after(demo):
    client = token_client("alice")
    failing = mock.patch.object(
        connections["default"].__class__,
        "ensure_connection",
        side_effect=OperationalError("connection refused"),
    )
    with failing:
        response = client.get("/api/v1/changes/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable"


@pytest.mark.postgres
def test_a_database_on_a_closed_port_is_a_json_503(django_db_setup, django_db_blocker):
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    client = Client(raise_request_exception=False)
    with django_db_blocker.unblock():
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT="18201")  # nothing listens
        try:
            response = client.get("/api/v1/changes/", HTTP_AUTHORIZATION="Token abc")
        finally:
            connection.close()
            connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable"


def test_a_session_cookie_with_a_nul_byte_is_treated_as_no_session(client, alice):
    client.cookies["sessionid"] = "abc\x00defghijk"
    response = client.post("/api/v1/changes/1/withdraw/", {}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")
