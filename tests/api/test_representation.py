"""Changes are serialised by fast builders; they say exactly what the declared serializers (the
ones the schema documents) say, field for field."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from approvals import workflow
from approvals.api.serializers.changes import ChangeSerializer, RouteStepSerializer
from approvals.models import BlackoutWindow, ChangeRequest, Delegation
from approvals.selectors import LazyWindows, load_actor, route_of, with_route
from tests.api.scenarios import SCENARIOS
from tests.helpers import approve, assessed, decide, user

pytestmark = pytest.mark.django_db


def _declared(serializer: serializers.Serializer, instance) -> dict:
    return serializers.Serializer.to_representation(serializer, instance)


def _varied_changes() -> list[ChangeRequest]:
    changes = [make() for make in SCENARIOS.values()]
    now = timezone.now()
    Delegation.objects.create(
        delegator=user("hank"),
        delegate=user("tom"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    changes.append(approve("tom", assessed(user("alice"))))  # a delegated decision
    failed = approve("mia", approve("hank", assessed(user("alice"))))
    workflow.change_start(actor=user("ivan"), change_id=failed.pk)
    workflow.change_complete(actor=user("ivan"), change_id=failed.pk, outcome="failed")
    changes.append(decide("carl", failed, "approve", outcome="follow_up", actions="add a check"))
    BlackoutWindow.objects.create(
        name="Freeze", starts_at=now, ends_at=now + timedelta(days=10)
    )  # every planned window overlaps it: a blackout warning with instants
    return changes


@pytest.mark.parametrize("viewer", ["alice", "mia", "hank", "audrey"])
def test_the_fast_change_rows_equal_the_declared_serializer(demo, viewer):
    ids = [c.pk for c in _varied_changes()]
    context = {"actor": load_actor(user(viewer)), "windows": LazyWindows()}
    for change in with_route(ChangeRequest.objects.filter(pk__in=ids)):
        serializer = ChangeSerializer(context=context)
        fast = serializer.to_representation(change)
        assert fast == _declared(serializer, change)
        for step in route_of(change):
            step_serializer = RouteStepSerializer()
            assert step_serializer.to_representation(step) == _declared(step_serializer, step)
    assert any(
        w["kind"] == "blackout" and w["starts_at"]
        for c in with_route(ChangeRequest.objects.filter(pk__in=ids))
        for w in ChangeSerializer(context=context).to_representation(c)["warnings"]
    )


def test_the_fast_inbox_rows_equal_the_declared_serializers(demo):
    from approvals.api.serializers.changes import (
        InboxChangeSerializer,
        InboxItemSerializer,
        InboxStepSerializer,
    )
    from approvals.selectors import inbox

    _varied_changes()
    rows = list(inbox(load_actor(user("hank"))))
    assert rows
    for step in rows:
        fast = InboxItemSerializer().to_representation(step)
        assert fast["change"] == _declared(InboxChangeSerializer(), step.change)
        assert fast["step"] == _declared(InboxStepSerializer(), step)
