"""The audit trail over HTTP: per change for whoever sees it; browse, export, verify for auditors."""

import csv
import io
import json
from datetime import timedelta

import pgtrigger
import pytest
from django.utils import timezone

from approvals import audit
from approvals.models import AuditEvent, AuditSnapshot
from tests.api.conftest import token_client
from tests.api.scenarios import at_department_head, draft
from tests.helpers import AUDIT_EVENT_COLUMNS

pytestmark = pytest.mark.django_db

EVENT_KEYS = set(AUDIT_EVENT_COLUMNS)


def test_a_changes_audit_lists_its_events_oldest_first(demo):
    change = at_department_head()
    events = token_client("alice").get(f"/api/v1/changes/{change.pk}/audit/").json()["results"]
    assert [e["action"] for e in events] == ["created", "submitted", "assessed"]
    assert set(events[0]) == EVENT_KEYS
    assert events[1]["prev_hash"] == events[0]["hash"]
    assert events[2]["actor"] == "ada" and events[2]["to_state"] == "tier_approval"


def test_audit_events_filter_by_change_actor_action_and_time(demo):
    first = at_department_head()
    second = draft()
    client = token_client("audrey")

    def seqs(query: str) -> list[int]:
        response = client.get(f"/api/v1/audit-events/?{query}")
        assert response.status_code == 200, response.json()
        return [e["seq"] for e in response.json()["results"]]

    assert len(seqs(f"change={first.pk}")) == 3
    assert len(seqs(f"change={second.pk}")) == 1
    assert len(seqs("actor=ada")) == 1
    assert len(seqs("action=created")) == 2
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert seqs(f"since={later.replace('+', '%2B')}") == []
    assert len(seqs(f"until={later.replace('+', '%2B')}")) == 4


@pytest.mark.parametrize(
    "query", ["change=abc", "since=yesterday", "until=2026-13-45", "change=-1"]
)
def test_bad_audit_filters_are_400(demo, query):
    assert token_client("audrey").get(f"/api/v1/audit-events/?{query}").status_code == 400


def test_audit_events_page_with_a_cursor(demo):
    for _ in range(3):
        draft()
    client = token_client("audrey")
    first = client.get("/api/v1/audit-events/?page_size=2").json()
    second = client.get(first["next"]).json()
    assert [e["seq"] for e in first["results"]] + [e["seq"] for e in second["results"]] == sorted(
        AuditEvent.objects.values_list("seq", flat=True)
    )
    assert "cursor=" in first["next"] and second["next"] is None


def _streamed(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_csv_export_streams_every_event(demo):
    change = at_department_head()
    response = token_client("audrey").get("/api/v1/audit-events/export/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_streamed(response))))
    assert [r["action"] for r in rows] == ["created", "submitted", "assessed"]
    assert rows[0]["change"] == str(change.pk)
    assert json.loads(rows[2]["data"])["risk"] == "low"


def test_json_export_is_one_array_and_honours_filters(demo):
    at_department_head()
    draft()
    response = token_client("audrey").get("/api/v1/audit-events/export/?format=json&actor=ada")
    events = json.loads(_streamed(response))
    assert [e["action"] for e in events] == ["assessed"]
    assert set(events[0]) == EVENT_KEYS


def test_export_of_an_empty_trail_is_valid_json(demo):
    response = token_client("audrey").get("/api/v1/audit-events/export/?format=json")
    assert json.loads(_streamed(response)) == []


def test_export_refuses_unknown_formats(demo):
    response = token_client("audrey").get("/api/v1/audit-events/export/?format=xml")
    assert response.status_code == 400 and "format" in response.json()


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_export_reads_the_trail_in_chunks_and_joins_them_seamlessly(demo, monkeypatch, kind):
    """Constant memory: the export reads the trail a few rows at a time, never whole; the file
    is the same whatever the size of those reads."""
    from approvals.evidence import export

    for _ in range(5):
        draft()
    client = token_client("audrey")
    whole = _streamed(client.get(f"/api/v1/audit-events/export/?format={kind}"))
    monkeypatch.setattr(export, "FETCH_ROWS", 2)
    assert _streamed(client.get(f"/api/v1/audit-events/export/?format={kind}")) == whole
    if kind == "json":
        assert len(json.loads(whole)) == 5
    else:
        assert len(list(csv.DictReader(io.StringIO(whole)))) == 5


def _verified(client):
    """Start a run as an auditor, let the worker run it, answer the latest result."""
    from approvals.evidence import runs

    run = client.post("/api/v1/audit/verify/").json()["run"]
    runs.verification_run(run_id=run)
    return client.get("/api/v1/audit/verify/").json()


def test_verify_reports_an_intact_chain(demo):
    at_department_head()
    body = _verified(token_client("audrey"))
    assert (body["ok"], body["events_checked"], body["first_bad_seq"], body["reason"]) == (
        True,
        3,
        None,
        "",
    )


def test_verify_names_the_first_tampered_event(demo):
    change = at_department_head()
    victim = AuditEvent.objects.filter(change=change).order_by("seq")[1]
    # Tamper behind the application's back: on PostgreSQL past the append-only trigger.
    with pgtrigger.ignore("approvals.AuditEvent:audit_append_only"):
        AuditEvent.objects.filter(pk=victim.pk).update(data={"forged": True})
    response = _verified(token_client("audrey"))
    assert response["ok"] is False and response["first_bad_seq"] == victim.seq


def test_snapshots_are_listed_for_auditors(demo):
    draft()
    seq = AuditEvent.objects.get().seq
    count, digest = audit.range_digest(seq, seq)
    AuditSnapshot.objects.create(
        first_seq=seq, last_seq=seq, event_count=count, digest=digest, chain_heads={}
    )
    results = token_client("audrey").get("/api/v1/audit-snapshots/").json()["results"]
    assert [(s["first_seq"], s["event_count"]) for s in results] == [(seq, 1)]


@pytest.mark.parametrize(
    "value",
    ["2767-08-15T01:35:52%2B20:01", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00%2B01:00"],
)
def test_exotic_time_zone_offsets_are_normalised_or_refused_never_500(demo, value):
    draft()
    client = token_client("audrey")
    listed = client.get(f"/api/v1/audit-events/?since={value}")
    assert listed.status_code in (200, 400)
    exported = client.get(f"/api/v1/audit-events/export/?format=json&until={value}")
    assert exported.status_code in (200, 400)
    if exported.status_code == 200:
        json.loads(_streamed(exported))
