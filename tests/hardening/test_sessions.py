"""A signed-in session ends after SESSION_IDLE_MINUTES without a request, not while it is used."""

from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone


def signed_in(client: Client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def test_a_session_left_idle_too_long_signs_out(demo, alice, settings):
    assert settings.SESSION_IDLE_MINUTES == 480
    client = Client()
    client.force_login(alice)
    with time_machine.travel(timezone.now() + timedelta(minutes=481)):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_session_in_use_stays_signed_in_past_the_idle_limit(demo, alice):
    client = Client()
    client.force_login(alice)
    start = timezone.now()
    for minutes in (300, 600, 900):
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert signed_in(client)
    with time_machine.travel(start + timedelta(minutes=900 + 481)):
        assert not signed_in(client)
