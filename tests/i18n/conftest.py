import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation


@pytest.fixture(autouse=True)
def _compiled_catalogue(db):
    call_command("compile_translations", verbosity=0)
    translation.trans_real._translations = {}
    yield
    translation.trans_real._translations = {}
    translation.activate("en")


@pytest.fixture
def as_user():
    """A signed-in client for a demo user (no language chosen in the browser)."""

    def login(user, *, language: str | None = None) -> Client:
        client = Client()
        client.force_login(user)
        if language:
            client.post(reverse("set_language"), {"language": language, "next": "/"})
        return client

    return login
