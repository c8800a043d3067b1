"""Sign-in lockout: 5 wrong passwords for one account from one address lock that pair out, on the
pages' sign-in, the admin's and the API token endpoint, for the cool-off period; audited once."""

from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.models import AuditEvent

PASSWORD = "demo-pass-1"


def page_sign_in(client: Client, username: str, password: str, path: str = "/accounts/login/"):
    return client.post(path, {"username": username, "password": password})


def token_sign_in(client: APIClient, username: str, password: str):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def lockouts() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="login_locked_out").order_by("seq"))


def test_five_wrong_passwords_on_the_sign_in_page_refuse_the_right_one(demo, bob):
    client = Client()
    for _ in range(4):
        assert page_sign_in(client, "bob", "wrong").status_code == 200  # the form again
    locked = page_sign_in(client, "bob", "wrong")
    assert locked.status_code == 429
    right = page_sign_in(client, "bob", PASSWORD)
    assert right.status_code == 429
    assert "Too many failed sign-in attempts" in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_audited_once_with_account_and_address(demo, bob):
    client = Client(REMOTE_ADDR="203.0.113.7")
    before = AuditEvent.objects.count()
    for _ in range(8):
        page_sign_in(client, "bob", "wrong")
    [event] = lockouts()
    assert event.data == {
        "username": "bob",
        "ip_address": "203.0.113.7",
        "path": "/accounts/login/",
        "failures": 5,
    }
    assert AuditEvent.objects.count() == before + 1


def test_the_lockout_ends_after_the_cool_off(demo, bob):
    client = Client()
    for _ in range(5):
        page_sign_in(client, "bob", "wrong")
    assert page_sign_in(client, "bob", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        signed_in = page_sign_in(client, "bob", PASSWORD)
        assert signed_in.status_code == 302
        assert client.session["_auth_user_id"] == str(bob.pk)


def test_another_address_or_account_is_not_locked_out(demo, bob, alice):
    for _ in range(5):
        page_sign_in(Client(REMOTE_ADDR="203.0.113.7"), "bob", "wrong")
    assert page_sign_in(Client(REMOTE_ADDR="198.51.100.9"), "bob", PASSWORD).status_code == 302
    assert page_sign_in(Client(REMOTE_ADDR="203.0.113.7"), "alice", PASSWORD).status_code == 302


def test_the_admin_sign_in_locks_out_too(demo, admin):
    client = Client()
    for _ in range(5):
        page_sign_in(client, "admin", "wrong", "/admin/login/")
    refused = page_sign_in(client, "admin", PASSWORD, "/admin/login/")
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    assert lockouts()[0].data["path"] == "/admin/login/"


def test_the_token_endpoint_locks_out_with_a_json_429(demo, bob):
    client = APIClient()
    for _ in range(4):
        assert token_sign_in(client, "bob", "wrong").status_code == 400
    assert token_sign_in(client, "bob", "wrong").status_code == 429
    refused = token_sign_in(client, "bob", PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["code"] == "locked_out"
    assert int(refused["Retry-After"]) > 0
    assert "token" not in refused.json()
    assert bob.api_tokens.count() == 0
    assert len(lockouts()) == 1


def test_failures_on_the_api_and_the_pages_add_up(demo, bob):
    api, page = APIClient(), Client()
    for _ in range(3):
        token_sign_in(api, "bob", "wrong")
    for _ in range(2):
        page_sign_in(page, "bob", "wrong")
    assert page_sign_in(page, "bob", PASSWORD).status_code == 429
    assert token_sign_in(api, "bob", PASSWORD).status_code == 429


def test_a_successful_sign_in_clears_earlier_failures(demo, bob):
    client = APIClient()
    for _ in range(4):
        token_sign_in(client, "bob", "wrong")
    assert token_sign_in(client, "bob", PASSWORD).status_code == 200
    for _ in range(4):
        token_sign_in(client, "bob", "wrong")
    assert token_sign_in(client, "bob", PASSWORD).status_code == 200
    assert lockouts() == []
