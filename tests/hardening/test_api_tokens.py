"""API tokens: hashed at rest, expiring, listed and revoked by their owner, and dead once the
session that made them signs out."""

from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.access.models import ApiToken

PASSWORD = "demo-pass-1"


def issue(username: str, client: APIClient | None = None) -> str:
    response = (client or APIClient()).post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    return response.json()["token"]


def as_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_token_is_stored_only_as_a_digest(demo, alice):
    token = issue("alice")
    [row] = ApiToken.objects.filter(user=alice)
    assert token not in (row.digest, row.prefix)
    assert row.prefix == token[:8]
    assert not ApiToken.objects.filter(digest=token).exists()
    assert as_token(token).get("/api/v1/me/").json()["username"] == "alice"


def test_a_token_expires_after_api_token_days(demo, alice, settings):
    settings.API_TOKEN_DAYS = 30
    token = issue("alice")
    with time_machine.travel(timezone.now() + timedelta(days=29, hours=23)):
        assert as_token(token).get("/api/v1/me/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        expired = as_token(token).get("/api/v1/me/")
        assert expired.status_code == 401
        assert expired.json()["detail"] == "Invalid or expired token."


def test_the_owner_lists_their_tokens_and_sees_which_one_is_in_use(demo, alice, bob):
    first, second = issue("alice"), issue("alice")
    issue("bob")
    listed = as_token(second).get("/api/v1/auth/tokens/").json()["results"]
    assert [row["prefix"] for row in listed] == [second[:8], first[:8]]
    assert [row["current"] for row in listed] == [True, False]
    assert all(first not in str(row) and second not in str(row) for row in listed)


def test_the_owner_revokes_a_token_and_it_stops_working(demo, alice):
    keep, drop = issue("alice"), issue("alice")
    drop_id = ApiToken.objects.get(prefix=drop[:8]).pk
    assert as_token(keep).delete(f"/api/v1/auth/tokens/{drop_id}/").status_code == 204
    assert as_token(drop).get("/api/v1/me/").status_code == 401
    assert as_token(keep).get("/api/v1/me/").status_code == 200


def test_nobody_revokes_another_users_token(demo, alice, bob):
    alices = issue("alice")
    alices_id = ApiToken.objects.get(prefix=alices[:8]).pk
    refused = as_token(issue("bob")).delete(f"/api/v1/auth/tokens/{alices_id}/")
    assert refused.status_code == 404
    assert ApiToken.objects.filter(pk=alices_id).exists()
    assert as_token(alices).get("/api/v1/me/").status_code == 200


def test_signing_a_token_out_revokes_only_that_token(demo, alice):
    other, token = issue("alice"), issue("alice")
    assert as_token(token).post("/api/v1/auth/logout/").status_code == 204
    assert as_token(token).get("/api/v1/me/").status_code == 401
    assert as_token(other).get("/api/v1/me/").status_code == 200


def test_signing_out_of_the_browser_revokes_the_tokens_that_session_made(demo, alice):
    browser = Client()
    browser.force_login(alice)
    session_client = APIClient()
    session_client.cookies = browser.cookies
    from_session = issue("alice", session_client)
    elsewhere = issue("alice")
    assert ApiToken.objects.get(prefix=from_session[:8]).session_key
    assert browser.post("/accounts/logout/").status_code == 302
    assert as_token(from_session).get("/api/v1/me/").status_code == 401
    assert as_token(elsewhere).get("/api/v1/me/").status_code == 200


def test_an_unauthenticated_caller_cannot_list_tokens(demo):
    assert APIClient().get("/api/v1/auth/tokens/").status_code == 401
