"""The calendar and a change's conflicts keep need to know: a scheduled change the reader may
not open is never named there, only its window is told."""

import pytest
from django.test import Client

from approvals.models import ChangeRequest
from tests.helpers import approve, assessed, refresh, route, user

pytestmark = pytest.mark.django_db


def approved(requester: str, **fields) -> ChangeRequest:
    change = assessed(user(requester), **fields)
    for _ in range(5):
        change = refresh(change)
        if change.state == "approved":
            break
        pending = [r for r in route(change) if r[1] == "pending"][0]
        approve(pending[2][0], change)
    change = refresh(change)
    assert change.state == "approved"
    return change


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def test_the_calendar_leaves_out_a_scheduled_change_its_reader_may_not_open(demo):
    secret = approved("alice", title="Confidential IT layoffs system cutover")
    bob = signed_in("bob")
    assert bob.get(f"/changes/{secret.pk}/").status_code == 404

    page = bob.get("/calendar/")

    assert page.status_code == 200
    assert b"Confidential IT layoffs system cutover" not in page.content
    assert secret.key.encode() not in page.content
    assert f"/changes/{secret.pk}/".encode() not in page.content


def test_the_calendar_still_shows_its_reader_the_changes_they_may_open(demo):
    secret = approved("alice", title="Confidential IT layoffs system cutover")

    page = signed_in("alice").get("/calendar/")

    assert b"Confidential IT layoffs system cutover" in page.content
    assert f"/changes/{secret.pk}/".encode() in page.content


def test_a_conflict_with_a_change_the_reader_may_not_open_names_only_its_window(demo):
    secret = approved("alice", title="Confidential FIN payroll swap", departments=["FIN"])
    mine = approved("bob", title="Bob own change")
    bob = signed_in("bob")
    assert bob.get(f"/changes/{secret.pk}/").status_code == 404

    detail = bob.get(f"/changes/{mine.pk}/")
    calendar = bob.get("/calendar/")

    for page in (detail, calendar):
        assert page.status_code == 200
        assert b"another scheduled change in a shared department" in page.content
        assert b"Confidential FIN payroll swap" not in page.content
        assert f"/changes/{secret.pk}/".encode() not in page.content
    assert secret.key.encode() not in calendar.content


def test_a_conflict_with_a_change_the_reader_may_open_names_it(demo):
    other = approved("alice", title="Shared FIN payroll swap", departments=["FIN"])
    mine = approved("bob", title="Bob own change")

    page = signed_in("mia").get(f"/changes/{mine.pk}/")

    assert b"Shared FIN payroll swap" in page.content
    assert f"/changes/{other.pk}/".encode() in page.content
    assert b"another scheduled change in a shared department" not in page.content
