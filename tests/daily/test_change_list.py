"""The change list: its columns, sorting, filters, saved filters and CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import SavedFilter
from tests.helpers import approve, assessed, new_change, submitted

pytestmark = pytest.mark.django_db

LIST = reverse("web:change_list")


def _keys(response):
    return [c.key for c in response.context["changes"]]


def test_the_list_shows_current_step_risk_planned_start_and_requester_with_a_title_link(
    as_user, alice, mia
):
    change = assessed(alice, risk="medium", title="Rotate the VPN keys")
    html = as_user(mia).get(LIST).content.decode()
    for header in ("Current step", "Risk", "Planned start", "Requester"):
        assert f">{header}</a></th>" in html or f">{header} ▼</a></th>" in html, header
    assert f'<a href="/changes/{change.pk}/">Rotate the VPN keys</a>' in html
    row = html[html.index(change.key) :]
    assert "Department head" in row[:1500] and "Medium" in row[:1500] and "alice" in row[:1500]


@pytest.mark.parametrize(
    "sort,expected",
    [
        ("risk", ["low", "medium", "high"]),
        ("-risk", ["high", "medium", "low"]),
        ("start", ["low", "medium", "high"]),
        ("-start", ["high", "medium", "low"]),
    ],
)
def test_the_list_sorts_by_severity_and_by_planned_start(as_user, alice, mia, sort, expected):
    now = timezone.now()
    for days, risk in ((1, "low"), (2, "medium"), (3, "high")):
        start = now + timedelta(days=days)
        assessed(
            alice,
            impact=risk,
            risk=risk,
            planned_start=start,
            planned_end=start + timedelta(hours=1),
        )
    response = as_user(mia).get(LIST, {"sort": sort})
    assert [c.risk for c in response.context["changes"]] == expected


def test_sorting_by_step_and_requester_keeps_every_row(as_user, alice, bob, mia):
    assessed(alice)
    assessed(bob)
    submitted(alice)
    for sort in ("step", "-step", "requester", "-requester", "title", "state", "key", "impact"):
        response = as_user(mia).get(LIST, {"sort": sort})
        assert len(_keys(response)) == 3, sort
    names = [
        c.requester.username
        for c in as_user(mia).get(LIST, {"sort": "requester"}).context["changes"]
    ]
    assert names == sorted(names)


def test_the_column_header_reverses_the_current_sort(as_user, alice, mia):
    assessed(alice)
    html = as_user(mia).get(LIST, {"sort": "risk"}).content.decode()
    assert 'aria-sort="ascending"><a href="?sort=-risk">' in html


def test_filters_narrow_the_list(as_user, alice, bob, mia, hank):
    now = timezone.now()
    soon = {
        "planned_start": now + timedelta(days=1),
        "planned_end": now + timedelta(days=1, hours=2),
    }
    later = {"planned_start": now + timedelta(days=20), "planned_end": now + timedelta(days=21)}
    low = assessed(alice, title="Low one", **soon)
    high = assessed(alice, impact="high", risk="high", title="High one", **later)
    fin = assessed(bob, title="Finance one", departments=["FIN"], implementer="ivan", **soon)
    emergency = submitted(alice, change_type="emergency", title="Emergency one", **soon)
    client = as_user(mia)
    cases = [
        ({"change_type": "emergency"}, [emergency]),
        ({"impact": "high"}, [high]),
        ({"risk": "high"}, [high]),
        ({"department": "FIN"}, [fin]),
        ({"requester": "bob"}, [fin]),
        ({"implementer": "ivan", "department": "fin"}, [fin]),
        ({"planned_from": (now + timedelta(days=10)).date().isoformat()}, [high]),
        (
            {"planned_until": (now + timedelta(days=5)).date().isoformat(), "requester": "alice"},
            [low, emergency],
        ),
        ({"q": "finance"}, [fin]),
    ]
    for params, expected in cases:
        got = sorted(_keys(client.get(LIST, params)))
        assert got == sorted(c.key for c in expected), params
    mine = _keys(as_user(hank).get(LIST, {"mine": "on"}))
    assert sorted(mine) == sorted([low.key, high.key])  # fin waits on fiona, the emergency on mia


def test_a_nonsense_filter_is_ignored_and_shown_rather_than_failing(as_user, alice, mia):
    assessed(alice)
    response = as_user(mia).get(
        LIST, {"impact": "enormous", "planned_from": "yesterday", "sort": "password", "q": "a\x00"}
    )
    assert response.status_code == 200
    assert len(_keys(response)) == 1


def test_requesters_see_only_what_they_may_see(as_user, alice, bob):
    new_change(bob, title="Bob's private draft")
    mine = new_change(alice)
    response = as_user(alice).get(LIST)
    assert _keys(response) == [mine.key]


def test_saved_filters_belong_to_their_owner_and_reopen_the_list(as_user, alice, hank, mia):
    client = as_user(mia)
    response = client.post(
        reverse("web:saved_filter_create"),
        {"name": "High risk", "query": "risk=high&sort=-start&page=3&bogus=1"},
    )
    saved = SavedFilter.objects.get(user=mia)
    assert saved.query == "risk=high&sort=-start"
    assert response["Location"] == f"{LIST}?risk=high&sort=-start"
    html = client.get(LIST).content.decode()
    assert f'href="{LIST}?risk=high&amp;sort=-start">High risk</a>' in html
    # the same name again replaces its query
    client.post(reverse("web:saved_filter_create"), {"name": "High risk", "query": "risk=medium"})
    assert SavedFilter.objects.get(user=mia).query == "risk=medium"
    assert "High risk" not in as_user(hank).get(LIST).content.decode()
    # nobody deletes another person's filter
    response = as_user(hank).post(reverse("web:saved_filter_remove", args=[saved.pk]))
    assert response.status_code == 404 and SavedFilter.objects.filter(pk=saved.pk).exists()
    client.post(reverse("web:saved_filter_remove", args=[saved.pk]))
    assert not SavedFilter.objects.filter(user=mia).exists()


def test_a_saved_filter_needs_a_name(as_user, mia):
    response = as_user(mia).post(
        reverse("web:saved_filter_create"), {"name": "  ", "query": "risk=high"}, follow=True
    )
    assert "Name the filter." in response.content.decode()
    assert not SavedFilter.objects.exists()


def test_the_csv_export_holds_the_filtered_list_with_keys(as_user, alice, bob, mia):
    high = assessed(alice, impact="high", risk="high", title="升级邮件网关")
    assessed(alice)
    new_change(bob, title="Bob's private draft")
    client = as_user(mia)
    html = client.get(LIST, {"risk": "high"}).content.decode()
    assert f'href="{reverse("web:change_export")}?risk=high"' in html
    response = client.get(reverse("web:change_export"), {"risk": "high"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["key", "title", "state", "current_step"]
    assert [r[0] for r in rows[1:]] == [high.key]
    assert rows[1][1] == "升级邮件网关" and rows[1][3] == "Department head"


def test_the_export_respects_visibility(as_user, alice, bob):
    new_change(bob, title="Bob's private draft")
    others = assessed(bob, title="Bob's submitted change", implementer=None)
    mine = new_change(alice)
    response = as_user(alice).get(reverse("web:change_export"))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Bob's" not in body and others.key not in body and mine.key in body


@pytest.mark.parametrize("username", ["alice", "hank", "mia", "audrey"])
def test_the_list_costs_at_most_eight_queries_whatever_its_length(
    as_user, django_assert_max_num_queries, username, alice, bob
):
    from tests.helpers import user

    client = as_user(user(username))
    SavedFilter.objects.create(user=user(username), name="Mine", query="mine=on")
    assessed(alice)
    client.get(LIST)
    with django_assert_max_num_queries(8) as few:
        client.get(LIST)
    for _ in range(4):
        assessed(alice, departments=["IT", "FIN"])
        new_change(alice)
        approve("mia", approve("hank", assessed(alice)))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST, {"sort": "step"})
    assert response.status_code == 200
