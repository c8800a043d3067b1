"""Configuration tests: mia (change manager, staff, not a superuser) at work in the admin."""

import pytest
from django.test import Client


@pytest.fixture
def as_mia(mia) -> Client:
    client = Client()
    client.force_login(mia)
    return client
