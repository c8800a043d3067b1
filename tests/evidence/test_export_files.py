"""The audit trail's export files, from the API and from the trail page: byte for byte what the
contract says (every field of each event in its order; CSV as the csv module writes it, JSON
one array with an event a line), whatever the text holds, and read back intact; the same few
queries however long the trail."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from approvals import audit, workflow
from approvals.evidence import export
from approvals.models import AuditEvent
from tests.api.conftest import token_client
from tests.helpers import AUDIT_EVENT_COLUMNS, new_change, user

pytestmark = pytest.mark.django_db

API = "/api/v1/audit-events/export/"
PAGE = reverse("web:audit_export")
COLUMNS = AUDIT_EVENT_COLUMNS
KEYED_COLUMNS = (*COLUMNS[:6], "change_key", *COLUMNS[6:])
TITLE = 'Patch "core", phase 1 — 第二阶段：数据库'
COMMENT = 'Done, mostly.\nSee "runbook", step 3 — 已完成'
# Typed at the sign-in form by whoever: the lockout event keeps it as it came.
TYPED = 'bob, "the admin"\r\n李雷\t\\'


def _trail(time_machine) -> dict[str, AuditEvent]:
    """A change whose title and comment hold commas, quotes, line breaks and Chinese, and a
    system event (no actor, no change) holding worse, at known times."""
    alice = user("alice")
    time_machine.move_to(datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC), tick=False)
    change = new_change(alice, title=TITLE)
    time_machine.move_to(datetime(2026, 3, 1, 8, 0, 1, 250000, tzinfo=UTC), tick=False)
    workflow.change_comment(actor=alice, change_id=change.pk, text=COMMENT)
    time_machine.move_to(datetime(2026, 3, 1, 8, 0, 2, 1, tzinfo=UTC), tick=False)
    audit.login_locked_out(username=TYPED, ip_address="10.0.0.7", path='/a,b?c="d"', failures=5)
    created, commented = AuditEvent.objects.filter(change=change).order_by("seq")
    return {"created": created, "commented": commented, "system": AuditEvent.objects.last()}


def _contract(event: AuditEvent, *, keyed: bool) -> dict:
    row = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "actor": event.actor_name or None,
        "on_behalf_of": event.on_behalf_of_name or None,
        "action": event.action,
        "change": event.change_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "chain": event.chain,
        "chain_index": event.chain_index,
        "snapshot": event.snapshot,
        "request_id": event.request_id,
    }
    if keyed:
        key = f"CHG-{event.change_id:06d}" if event.change_id else None
        row = {name: row[name] if name != "change_key" else key for name in KEYED_COLUMNS}
    return row


def _contract_csv(*, keyed: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    columns = KEYED_COLUMNS if keyed else COLUMNS
    writer.writerow(columns)
    for event in AuditEvent.objects.order_by("seq"):
        row = _contract(event, keyed=keyed)
        row["data"] = json.dumps(row["data"], ensure_ascii=False)
        row["snapshot"] = json.dumps(row["snapshot"], ensure_ascii=False)
        writer.writerow(["" if row[name] is None else row[name] for name in columns])
    return out.getvalue().encode()


def _contract_json(*, keyed: bool) -> bytes:
    events = [
        json.dumps(_contract(event, keyed=keyed), ensure_ascii=False)
        for event in AuditEvent.objects.order_by("seq")
    ]
    return ("[" + ",\n".join(events) + "]\n").encode()


def _auditor(door: str) -> Client:
    if door == API:
        return token_client("audrey")
    client = Client()
    client.force_login(user("audrey"))
    return client


def _file(client: Client, door: str, **query: str) -> bytes:
    response = client.get(door, query)
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("door", [API, PAGE])
def test_the_csv_file_is_byte_for_byte_the_contract_and_reads_back(demo, time_machine, door):
    events = _trail(time_machine)
    keyed = door == PAGE
    body = _file(_auditor(door), door, format="csv")

    assert body == _contract_csv(keyed=keyed)
    text = body.decode()
    assert "第二阶段" in text and "\\u" not in text  # Chinese as itself, not escaped
    created, commented, system = events["created"], events["commented"], events["system"]
    key = f",CHG-{created.change_id:06d}" if keyed else ""
    assert (
        f"\r\n{created.seq},2026-03-01T08:00:00+00:00,alice,,created,{created.change_id}{key},,"
        in text
    )
    assert f"\r\n{commented.seq},2026-03-01T08:00:01.250000+00:00,alice,,commented," in text
    # No change (nor key), no states; then the data, quoted.
    blanks = ",,,,," if keyed else ",,,,"
    assert f'\r\n{system.seq},2026-03-01T08:00:02.000001+00:00,,,login_locked_out{blanks}"' in text
    assert text.endswith(f",{system.hash},system,{system.chain_index},null,\r\n")

    rows = {int(row["seq"]): row for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert json.loads(rows[created.seq]["snapshot"])["title"] == TITLE
    assert json.loads(rows[commented.seq]["data"])["text"] == COMMENT
    assert json.loads(rows[system.seq]["data"]) == system.data
    assert json.loads(rows[system.seq]["data"])["username"] == TYPED
    assert (rows[system.seq]["actor"], rows[system.seq]["change"]) == ("", "")
    assert rows[system.seq]["snapshot"] == "null"


@pytest.mark.parametrize("door", [API, PAGE])
def test_the_json_file_is_byte_for_byte_the_contract_and_reads_back(demo, time_machine, door):
    events = _trail(time_machine)
    keyed = door == PAGE
    body = _file(_auditor(door), door, format="json")

    assert body == _contract_json(keyed=keyed)
    assert body.count(b"\n") == AuditEvent.objects.count()  # an event a line
    text = body.decode()
    assert "第二阶段" in text and "\\u7b2c" not in text
    parsed = {event["seq"]: event for event in json.loads(text)}
    created, system = parsed[events["created"].seq], parsed[events["system"].seq]
    assert created["occurred_at"] == "2026-03-01T08:00:00+00:00"
    assert created["snapshot"]["title"] == TITLE
    assert parsed[events["commented"].seq]["data"]["text"] == COMMENT
    assert system["data"]["username"] == TYPED
    assert (system["actor"], system["change"], system["snapshot"]) == (None, None, None)
    assert list(system) == list(KEYED_COLUMNS if keyed else COLUMNS)
    if keyed:
        assert created["change_key"] == f"CHG-{events['created'].change_id:06d}"
        assert system["change_key"] is None


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_a_filtered_export_is_the_same_file_cut_to_the_filter(demo, time_machine, kind):
    events = _trail(time_machine)
    client = token_client("audrey")
    change = events["created"].change_id
    body = _file(client, API, format=kind, change=str(change)).decode()
    if kind == "csv":
        rows = list(csv.DictReader(io.StringIO(body, newline="")))
        assert [int(row["seq"]) for row in rows] == [events["created"].seq, events["commented"].seq]
    else:
        assert [event["seq"] for event in json.loads(body)] == [
            events["created"].seq,
            events["commented"].seq,
        ]


# Token and its user; the transaction the cursor reads in (savepoint, its release) and the
# query itself (a server-side cursor on PostgreSQL: its further reads are not queries).
API_QUERIES = 5
# The session, its user and their roles; the trail page's list of actions; then as above.
PAGE_QUERIES = 7


@pytest.mark.parametrize("kind", ["csv", "json"])
@pytest.mark.parametrize("door", [API, PAGE])
def test_an_export_costs_the_same_queries_for_one_event_and_for_many(
    demo, monkeypatch, django_assert_num_queries, door, kind
):
    monkeypatch.setattr(export, "FETCH_ROWS", 3)  # many reads of the cursor
    alice = user("alice")
    client = _auditor(door)
    budget = API_QUERIES if door == API else PAGE_QUERIES
    _file(client, door, format=kind)  # a signed-in session's first request writes it once
    new_change(alice)
    for expected in (1, 12):
        with django_assert_num_queries(budget):
            body = _file(client, door, format=kind, actor="alice").decode()
        if kind == "csv":
            assert len(list(csv.DictReader(io.StringIO(body, newline="")))) == expected
        else:
            assert len(json.loads(body)) == expected
        for _ in range(11):
            new_change(alice)
