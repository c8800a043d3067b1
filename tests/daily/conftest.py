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
