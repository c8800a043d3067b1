import pytest
from django.test import Client


@pytest.fixture
def as_user():
    """A signed-in client for a demo user fixture."""

    def login(user):
        client = Client()
        client.force_login(user)
        return client

    return login


# The browser walk shares Chromium, the signed-in page and screenshots with the browser suite.
from tests.browser.conftest import browser, new_page, shot  # noqa: E402, F401
