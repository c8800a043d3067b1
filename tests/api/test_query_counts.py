"""The changes list and the inbox cost the same few queries whatever the page holds."""

import pytest

from approvals.models import ChangeRequest
from tests.api.conftest import token_client
from tests.api.scenarios import approved, at_department_head, draft
from tests.helpers import new_change, submitted, user

pytestmark = pytest.mark.django_db

BUDGET = 8


def _mixed_changes(count: int) -> None:
    """Drafts, open routes with decisions, and approved changes (blackout windows matter)."""
    makers = (draft, at_department_head, approved)
    for index in range(count):
        makers[index % len(makers)]()


def _queries_for(django_assert_max_num_queries, path: str, username: str) -> int:
    client = token_client(username)
    with django_assert_max_num_queries(BUDGET) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("username", ["alice", "mia", "audrey"])
def test_changes_list_costs_the_same_for_3_and_30_rows(
    demo, django_assert_max_num_queries, username
):
    _mixed_changes(3)
    few = _queries_for(django_assert_max_num_queries, "/api/v1/changes/?page_size=200", username)
    _mixed_changes(27)
    assert ChangeRequest.objects.count() == 30
    many = _queries_for(django_assert_max_num_queries, "/api/v1/changes/?page_size=200", username)
    assert few == many <= BUDGET


def test_changes_list_shows_every_row_of_a_page(demo):
    _mixed_changes(30)
    response = token_client("alice").get("/api/v1/changes/?page_size=200")
    assert len(response.json()["results"]) == 30
    # the change manager sees every submitted change; the ten drafts stay their requester's
    response = token_client("mia").get("/api/v1/changes/?page_size=200")
    assert len(response.json()["results"]) == 20


def test_inbox_costs_the_same_for_3_and_30_open_steps(demo, django_assert_max_num_queries):
    for _ in range(3):
        at_department_head()
    few = _queries_for(django_assert_max_num_queries, "/api/v1/inbox/?page_size=200", "hank")
    for _ in range(27):
        at_department_head()
    many = _queries_for(django_assert_max_num_queries, "/api/v1/inbox/?page_size=200", "hank")
    assert few == many <= BUDGET
    assert len(token_client("hank").get("/api/v1/inbox/?page_size=200").json()["results"]) == 30


def test_a_page_whose_changes_have_no_planned_window_does_not_load_blackout_windows(
    demo, django_assert_num_queries
):
    alice = user("alice")
    new_change(alice, planned_start=None, planned_end=None)
    # an emergency change opens its ECAB step at once, window or not
    submitted(alice, change_type="emergency", planned_start=None, planned_end=None)
    client = token_client("alice")
    # token, actor, rows, departments, steps, seats, decisions: no blackout windows
    with django_assert_num_queries(7):
        response = client.get("/api/v1/changes/")
    assert len(response.json()["results"]) == 2


def test_a_page_with_planned_windows_loads_blackout_windows_once(demo, django_assert_num_queries):
    for _ in range(3):
        draft()
        at_department_head()
    client = token_client("alice")
    # the seven queries above, and one for the blackout windows whatever the number of rows
    with django_assert_num_queries(8):
        response = client.get("/api/v1/changes/")
    assert len(response.json()["results"]) == 6
