"""The API's one-query actor is the same actor the services load."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.api.actors import request_actor
from approvals.models import Delegation
from approvals.selectors import load_actor
from tests.conftest import DEMO_USERNAMES
from tests.helpers import user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("username", DEMO_USERNAMES)
def test_request_actor_matches_load_actor_for_every_demo_user(demo, username):
    person = user(username)
    assert request_actor(person) == load_actor(person)


def test_request_actor_knows_the_seats_a_delegate_holds_now(demo):
    now = timezone.now()
    Delegation.objects.create(
        delegator=user("hank"),
        delegate=user("tom"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    Delegation.objects.create(
        delegator=user("carl"),
        delegate=user("tom"),
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
    )
    actor = request_actor(user("tom"))
    assert actor.delegator_ids == {user("hank").pk}
    assert actor == load_actor(user("tom"))
