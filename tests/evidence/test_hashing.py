"""The fast event hash used by verification is byte for byte the hash the trail is written
with, for every kind of value, including those where fast JSON encoders differ."""

from datetime import UTC, datetime

import pytest

from approvals import audit
from approvals.evidence.hashing import canonical_bytes, event_body, event_hash
from approvals.models import AuditEvent
from tests.helpers import approve, assessed

TRICKY = [
    {"small": 1e-05, "tiny": 2.5e-07, "big": 1e16, "plain": 0.1, "whole": 1.0},
    {"control": '\x00\x01\x1f\x7f\b\f\n\r\t"\\/', "text": "ü中文😀\u2028"},
    {"b": 1, "a": [1, {"z": None, "é": True}], "ﬀ": 2, "😀": 3},
    {"huge": 2**70, "negative": -(2**63)},
    {"almost": "1e-5 is text, not a number"},
]


@pytest.mark.parametrize("data", TRICKY)
def test_the_fast_encoding_is_the_canonical_one(data):
    import json

    expected = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(data) == expected.encode()


@pytest.mark.django_db
def test_the_fast_hash_of_stored_events_is_their_recorded_hash(alice):
    approve("hank", assessed(alice))
    for event in AuditEvent.objects.order_by("seq"):
        body = event_body(
            chain=event.chain,
            chain_index=event.chain_index,
            occurred_at=event.occurred_at,
            actor=event.actor_name,
            on_behalf_of=event.on_behalf_of_name,
            action=event.action,
            change=event.change_id,
            from_state=event.from_state,
            to_state=event.to_state,
            data=event.data,
            snapshot=event.snapshot,
            request_id=event.request_id,
            prev_hash=event.prev_hash,
        )
        assert event_hash(body) == audit.compute_hash(event) == event.hash


def test_times_are_hashed_in_utc_whatever_their_zone():
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    fields = dict(
        chain="system",
        chain_index=1,
        actor="",
        on_behalf_of="",
        action="x",
        change=None,
        from_state="",
        to_state="",
        data={},
        snapshot=None,
        request_id="",
        prev_hash="",
    )
    assert event_body(occurred_at=moment, **fields)["occurred_at"] == "2026-11-25T02:00:00+00:00"
    assert event_hash(event_body(occurred_at=moment, **fields)) == event_hash(
        event_body(occurred_at=moment.astimezone(UTC), **fields)
    )


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 25, 2, 51, 38, 400000, tzinfo=UTC),
        datetime(2026, 11, 25, 2, 51, 38, 0, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_postgres_time_text_becomes_the_hashed_form(moment):
    from approvals.evidence.verification import _iso_time

    # As PostgreSQL writes it: four-digit year, fraction without trailing zeros.
    text = f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    assert _iso_time(text) == moment.isoformat()
