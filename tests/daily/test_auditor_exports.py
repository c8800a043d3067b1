"""Auditors export what the trail page shows, with change keys; a change links to its events;
the snapshots page says when the first snapshot comes."""

import csv
import io
import json

import pytest
from django.urls import reverse

from approvals.models import AuditEvent
from tests.helpers import approve, assessed, new_change

pytestmark = pytest.mark.django_db

EXPORT = reverse("web:audit_export")


def _body(response):
    return b"".join(response.streaming_content).decode()


def test_the_trail_page_links_exports_of_its_own_filters(as_user, alice, audrey):
    change = assessed(alice)
    html = (
        as_user(audrey)
        .get(reverse("web:audit_trail"), {"change": change.key, "page": "1"})
        .content.decode()
    )
    assert f'href="{EXPORT}?change={change.key}&amp;format=csv"' in html
    assert f'href="{EXPORT}?change={change.key}&amp;format=json"' in html


def test_the_csv_export_honours_the_filters_and_writes_change_keys(as_user, alice, audrey):
    first = approve("hank", assessed(alice))
    new_change(alice)
    response = as_user(audrey).get(
        EXPORT, {"change": first.key, "action": "approved", "format": "csv"}
    )
    assert response.status_code == 200 and response.streaming
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert [r["action"] for r in rows] == ["approved"]
    assert rows[0]["change_key"] == first.key and rows[0]["change"] == str(first.pk)


def test_the_json_export_keeps_every_hashed_field_and_adds_the_key(as_user, alice, audrey):
    change = assessed(alice)
    response = as_user(audrey).get(EXPORT, {"change": str(change.pk), "format": "json"})
    events = json.loads(_body(response))
    assert [e["seq"] for e in events] == list(
        AuditEvent.objects.filter(change=change).order_by("seq").values_list("seq", flat=True)
    )
    assert {e["change_key"] for e in events} == {change.key}
    assert {"hash", "prev_hash", "chain", "chain_index", "snapshot", "data"} <= set(events[0])


def test_the_export_by_date_and_actor(as_user, alice, audrey):
    approve("hank", assessed(alice))
    response = as_user(audrey).get(
        EXPORT, {"actor": "hank", "since": "2000-01-01", "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert rows and {r["actor"] for r in rows} == {"hank"}
    response = as_user(audrey).get(EXPORT, {"until": "2000-01-01"})
    assert list(csv.DictReader(io.StringIO(_body(response)))) == []


def test_only_auditors_export_and_a_wrong_format_is_refused(as_user, alice, mia, audrey):
    assessed(alice)
    assert as_user(mia).get(EXPORT).status_code == 403
    assert as_user(alice).get(EXPORT).status_code == 403
    assert as_user(audrey).get(EXPORT, {"format": "xml"}).status_code == 400


def test_a_change_page_links_auditors_to_its_audit_events(as_user, alice, audrey, hank):
    change = assessed(alice)
    link = f'href="{reverse("web:audit_trail")}?change={change.key}"'
    assert (
        link in as_user(audrey).get(reverse("web:change_detail", args=[change.pk])).content.decode()
    )
    assert (
        link
        not in as_user(hank).get(reverse("web:change_detail", args=[change.pk])).content.decode()
    )


def test_the_snapshots_page_says_when_the_first_snapshot_comes(as_user, audrey, settings):
    settings.AUDIT_SNAPSHOT_INTERVAL_SECONDS = 3600
    html = as_user(audrey).get(reverse("web:audit_snapshots")).content.decode()
    assert "No snapshot yet: the first comes at the scheduler" in html
    assert "every 60 minutes" in html
