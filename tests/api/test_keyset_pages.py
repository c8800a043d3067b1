"""The change list pages with a cursor: every change once, in order, whatever is added while a
client walks the list, and a deep page costs what the first one costs."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import AuditEvent, ChangeRequest
from tests.api.conftest import token_client
from tests.api.scenarios import draft

pytestmark = pytest.mark.django_db


def walk(client, url, link="next"):
    pages = []
    while url:
        body = client.get(url).json()
        pages.append(body)
        url = body[link]
    return pages


def ids(pages):
    return [c["id"] for page in pages for c in page["results"]]


def newest_first():
    return list(ChangeRequest.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))


def test_walking_forward_and_back_shows_every_change_once_in_order(demo):
    for _ in range(7):
        draft()
    client = token_client("alice")
    forward = walk(client, "/api/v1/changes/?page_size=2")
    assert [len(p["results"]) for p in forward] == [2, 2, 2, 1]
    assert ids(forward) == newest_first()
    assert forward[0]["previous"] is None
    assert "cursor=" in forward[0]["next"]

    back = walk(client, forward[-1]["previous"], link="previous")
    assert [ids([p]) for p in back] == [ids([p]) for p in reversed(forward[:-1])]
    assert back[-1]["previous"] is None


def test_equal_times_are_ordered_by_id_and_none_is_skipped(demo):
    for _ in range(5):
        draft()
    ChangeRequest.objects.update(created_at=timezone.now() - timedelta(hours=1))
    pages = walk(token_client("alice"), "/api/v1/changes/?page_size=2")
    assert ids(pages) == sorted(ChangeRequest.objects.values_list("pk", flat=True), reverse=True)


def test_a_change_created_during_the_walk_moves_nothing_along(demo):
    for _ in range(4):
        draft()
    client = token_client("alice")
    first = client.get("/api/v1/changes/?page_size=2").json()
    draft()  # newest: it belongs before the first page, not on the next one
    second = client.get(first["next"]).json()
    shown = ids([first, second])
    assert len(set(shown)) == 4
    assert shown == newest_first()[1:5]


def test_the_list_in_the_order_asked_for(demo):
    for _ in range(5):
        draft()
    client = token_client("alice")
    pages = walk(client, "/api/v1/changes/?page_size=2&ordering=updated_at")
    expected = ChangeRequest.objects.order_by("updated_at", "pk").values_list("pk", flat=True)
    assert ids(pages) == list(expected)
    assert all("ordering=updated_at" in p["next"] for p in pages[:-1])


def test_a_cursor_the_list_did_not_give_out_is_refused_and_changes_nothing(demo):
    draft()
    client = token_client("alice")
    events = AuditEvent.objects.count()
    for cursor in ("nonsense", "bnwyMDI2LTExLTI1fDE", "eHwyMDI2LTExLTI1VDAwOjAwOjAwKzAwOjAwfDE"):
        response = client.get(f"/api/v1/changes/?cursor={cursor}")
        assert response.status_code == 400
        assert "cursor" in response.json()
    assert AuditEvent.objects.count() == events


def test_numbered_pages_still_work(demo):
    for _ in range(5):
        draft()
    client = token_client("alice")
    second = client.get("/api/v1/changes/?page_size=2&page=2").json()
    assert ids([second]) == newest_first()[2:4]
    assert "page=3" in second["next"]


def test_a_deep_page_costs_the_queries_of_the_first(demo):
    for _ in range(9):
        draft()
    client = token_client("alice")
    pages = walk(client, "/api/v1/changes/?page_size=2")
    with CaptureQueriesContext(connection) as first:
        client.get("/api/v1/changes/?page_size=2")
    with CaptureQueriesContext(connection) as deep:
        client.get(pages[-2]["next"])
    assert len(deep.captured_queries) == len(first.captured_queries)
    # Read from the cursor on, not counted past with an offset.
    listing = max(deep.captured_queries, key=lambda q: len(q["sql"]))["sql"]
    assert "OFFSET" not in listing.upper()
