import pytest
from django.test import Client

from tests.helpers import assessed, new_change, submitted


@pytest.fixture
def as_user():
    """A logged-in client for a demo user fixture."""

    def login(user):
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def draft(alice):
    return new_change(alice)


@pytest.fixture
def submitted_change(alice):
    return submitted(alice)


@pytest.fixture
def in_approval(alice):
    """Low impact, IT only: hank (head of IT) decides the first step."""
    return assessed(alice)
