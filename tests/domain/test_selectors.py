from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import BlackoutWindow, Delegation, Department
from approvals.selectors import LazyWindows, blackout_windows, load_actor

pytestmark = pytest.mark.django_db


def test_the_actor_is_loaded_in_one_query_with_roles_department_and_delegated_seats(
    tom, hank, bob, django_assert_num_queries
):
    now = timezone.now()
    Delegation.objects.create(
        delegator=hank,
        delegate=tom,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    Delegation.objects.create(
        delegator=bob,
        delegate=tom,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
    )
    with django_assert_num_queries(1):
        actor = load_actor(tom)
    assert actor.roles == {"approver", "technical_expert"}
    assert actor.delegator_ids == {hank.pk}
    assert actor.department_id == Department.objects.get(code="IT").pk


def test_a_user_without_profile_or_groups_is_an_actor_with_nothing(admin):
    actor = load_actor(admin)
    assert (actor.roles, actor.delegator_ids, actor.department_id) == (
        frozenset(),
        frozenset(),
        None,
    )


def test_blackout_windows_carry_their_departments_and_load_only_when_needed(
    django_assert_num_queries,
):
    now = timezone.now()
    window = BlackoutWindow.objects.create(
        name="Audit week", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=8)
    )
    window.departments.add(Department.objects.get(code="FIN"), Department.objects.get(code="HR"))
    BlackoutWindow.objects.create(
        name="Over", starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=8)
    )
    names = {w[0]: w[3] for w in blackout_windows()}
    assert "Over" not in names
    assert names["Audit week"] == {d.pk for d in Department.objects.filter(code__in=["FIN", "HR"])}
    with django_assert_num_queries(0):
        lazy = LazyWindows()  # nothing is loaded until a page iterates it
    with django_assert_num_queries(1):
        list(lazy)
        list(lazy)
