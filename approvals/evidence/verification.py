"""Verification of the audit trail that trusts nothing in the database.

One pass over the events in `seq` order (a server-side cursor, a constant amount of memory)
checks, for every event: that it is the one the signed checkpoints list at its position, that
its content matches its hash, that it links to the stored previous event of its chain, and, at
the end of each change's chain, that the change row agrees (chain head, state). Snapshot seals
are recomputed along the way. Then the snapshot rows are compared with the seals the checkpoints
signed, and every `Decision` row with its audit event. The first failure is reported with the
event it concerns.
"""

import hashlib
import json
import queue
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection, transaction
from django.db.models import BigIntegerField, Exists, OuterRef
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from approvals.evidence import checkpoints, signing
from approvals.evidence.hashing import event_hash
from approvals.models import (
    AuditChainHead,
    AuditEvent,
    AuditSnapshot,
    ChangeRequest,
    Decision,
)

CHUNK = 5000
DECISION_ACTIONS = ("approved", "rejected", "info_requested")


@dataclass
class VerifyResult:
    ok: bool
    events_checked: int
    first_bad_seq: int | None
    reason: str = ""
    checkpoint: dict[str, Any] | None = field(default=None)


class Broken(Exception):
    """The first failure found: which event (None when no single event can be named) and why."""

    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def range_digest(first_seq: int | None, last_seq: int | None) -> tuple[int, str]:
    """Count and SHA-256 over the stored hashes of the events numbered first_seq…last_seq."""
    digest = hashlib.sha256()
    count = 0
    if first_seq is not None and last_seq is not None:
        hashes = (
            AuditEvent.objects.filter(seq__gte=first_seq, seq__lte=last_seq)
            .order_by("seq")
            .values_list("hash", flat=True)
            .iterator(chunk_size=CHUNK)
        )
        for value in hashes:
            digest.update(value.encode())
            count += 1
    return count, digest.hexdigest()


# --- the signed leaves ----------------------------------------------------------------------


class SignedLeaves:
    """The (seq, hash) leaves of every checkpoint file in order, one file in memory at a time;
    keeps the snapshot seals the files signed for the check after the walk."""

    def __init__(self, directory: Path | None, key: Ed25519PublicKey | None) -> None:
        # Listed now, before the database snapshot is taken: a checkpoint written while the run
        # goes on may sign events committed after that snapshot, which the run cannot see.
        self.files = checkpoints.checkpoint_files(directory)
        self._files = (
            checkpoints.read_checkpoints(key=key, files=self.files) if self.files else iter(())
        )
        self._leaves: Iterator[tuple[int, str]] = iter(())
        self.current: checkpoints.SignedCheckpoint | None = None
        self.snapshots: list[tuple[int, dict[str, Any]]] = []

    def next(self) -> tuple[int, str] | None:
        while True:
            leaf = next(self._leaves, None)
            if leaf is not None:
                return leaf
            try:
                signed = next(self._files, None)
            except checkpoints.CheckpointError as exc:
                raise Broken(None, f"checkpoint file {exc}") from None
            if signed is None:
                return None
            self.current = signed
            self.snapshots.extend((signed.head["number"], entry) for entry in signed.snapshots)
            self._leaves = iter(signed.leaves)

    def label(self) -> str:
        return f"checkpoint {self.current.head['number']}" if self.current else "a checkpoint"


# --- the walk -------------------------------------------------------------------------------


# PostgreSQL hands the time over as text in UTC ("2026-11-25 02:51:38.4"): far cheaper there
# than to_char, and turned into the hash's form (isoformat) by _iso_time below.
_PG_UTC_TEXT = "CAST(occurred_at AT TIME ZONE 'UTC' AS TEXT)"


def _iso_time(text: str) -> str:
    """ "2026-11-25 02:51:38.4" -> "2026-11-25T02:51:38.400000+00:00" (Python's isoformat of the
    UTC time: six fraction digits, or none when the microseconds are zero)."""
    day, _, clock = text.partition(" ")
    whole, _, fraction = clock.partition(".")
    if len(day) != 10 or len(whole) != 8:  # a year past 9999 or BC: parse it properly
        return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat()
    if fraction:
        return f"{day}T{whole}.{fraction.ljust(6, '0')}+00:00"
    return f"{day}T{whole}+00:00"


def _events_sql(event_table: str) -> str:
    time = _PG_UTC_TEXT if connection.vendor == "postgresql" else "occurred_at"
    return (
        f"SELECT seq, chain, chain_index, {time}, actor_name, on_behalf_of_name, action, "
        "change_id, from_state, to_state, CAST(data AS TEXT), CAST(snapshot AS TEXT), request_id, "
        f"prev_hash, hash FROM {event_table} ORDER BY seq"
    )


def _links_sql(event_table: str, change_table: str) -> str:
    # What each event's chain says around it: the stored hash and number of the event before it
    # and whether it is the last; for a change's last event, the change row.
    return (
        "SELECT w.seq, w.prev_hash, w.prev_index, w.is_last, c.state, c.audit_length, "
        "c.audit_head FROM (SELECT seq, change_id, "
        "LAG(hash) OVER chain_order AS prev_hash, LAG(chain_index) OVER chain_order AS prev_index, "
        "LEAD(seq) OVER chain_order IS NULL AS is_last "
        f"FROM {event_table} WINDOW chain_order AS (PARTITION BY chain ORDER BY chain_index)) w "
        f"LEFT JOIN {change_table} c ON c.id = w.change_id AND w.is_last ORDER BY w.seq"
    )


def _open(sql: str) -> Any:
    # A server-side cursor on PostgreSQL: rows arrive in chunks, memory stays flat.
    cursor = connection.chunked_cursor()
    cursor.execute(sql)
    return cursor


def _chunk_pairs(events: Any, links: Any, out: "queue.Queue[Any]") -> None:
    """Fetch both streams a chunk at a time on a thread of its own, so that waiting for the
    database overlaps with hashing (the driver releases the GIL while it waits)."""
    try:
        while True:
            pair = (events.fetchmany(CHUNK), links.fetchmany(CHUNK))
            out.put(pair)
            if not pair[0] and not pair[1]:
                return
    except BaseException as exc:  # handed to the consuming thread, which raises it
        out.put(exc)


def _rows() -> Iterator[tuple]:
    """Each event (columns as in _events_sql, then those of _links_sql), in `seq` order: two
    ordered streams of one snapshot of the database, zipped."""
    event_table = AuditEvent._meta.db_table
    change_table = ChangeRequest._meta.db_table
    events = _open(_events_sql(event_table))
    links = _open(_links_sql(event_table, change_table))
    chunks: queue.Queue[Any] = queue.Queue(maxsize=4)
    fetcher = threading.Thread(target=_chunk_pairs, args=(events, links, chunks), daemon=True)
    fetcher.start()
    sqlite = connection.vendor != "postgresql"
    try:
        while True:
            pair = chunks.get()
            if isinstance(pair, BaseException):
                raise pair
            event_rows, link_rows = pair
            if not event_rows and not link_rows:
                return
            if len(event_rows) != len(link_rows):
                raise Broken(None, "the trail changed while it was being verified")
            for event, link in zip(event_rows, link_rows, strict=True):
                if link[0] != event[0]:
                    raise Broken(event[0], f"event #{event[0]} changed while it was verified")
                if sqlite:  # the raw column is text there: Django's converter parses it
                    # In the form PostgreSQL sends ("2026-11-25 02:51:38.4"), for _iso_time.
                    when = _sqlite_time(event[3]).astimezone(UTC).replace(tzinfo=None)
                    event = event[:3] + (str(when),) + event[4:]
                yield event + link[1:]
    finally:
        _drain(chunks, fetcher)
        events.close()
        links.close()


def _drain(chunks: "queue.Queue[Any]", fetcher: threading.Thread) -> None:
    """Let the fetching thread finish (it may be blocked on a full queue) before the cursors
    close under it."""
    while fetcher.is_alive():
        try:
            chunks.get(timeout=0.1)
        except queue.Empty:
            continue


def _sqlite_time(value: Any) -> Any:
    if isinstance(value, str):
        return connection.ops.convert_datetimefield_value(  # type: ignore[attr-defined]
            value, AuditEvent._meta.get_field("occurred_at"), connection
        )
    return value


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        return json.loads(text)  # what orjson declines (integers beyond 64 bits)


class _Seals:
    """Recomputes the snapshot seals while the walk passes through their ranges."""

    def __init__(self) -> None:
        self._pending: list[tuple[int, int, int, int, str]] = list(
            AuditSnapshot.objects.filter(first_seq__isnull=False, last_seq__isnull=False)
            .order_by("first_seq", "pk")
            .values_list("pk", "first_seq", "last_seq", "event_count", "digest")  # type: ignore[arg-type]
        )
        self._pending.reverse()
        self._open: list[tuple[tuple, Any, int]] = []

    def feed(self, seq: int, stored_hash: str) -> None:
        self._close_before(seq)
        while self._pending and self._pending[-1][1] <= seq:
            self._open.append((self._pending.pop(), hashlib.sha256(), 0))
        for index, (seal, digest, count) in enumerate(self._open):
            if seal[1] <= seq <= seal[2]:
                digest.update(stored_hash.encode())
                self._open[index] = (seal, digest, count + 1)

    def _close_before(self, seq: int | None) -> None:
        still_open = []
        for seal, digest, count in self._open:
            if seq is None or seal[2] < seq:
                pk, first, last, expected_count, expected_digest = seal
                if (count, digest.hexdigest()) != (expected_count, expected_digest):
                    raise Broken(
                        first,
                        f"audit snapshot #{pk} over events #{first}–#{last} no longer matches "
                        f"the trail ({count} events found, {expected_count} sealed)",
                    )
            else:
                still_open.append((seal, digest, count))
        self._open = still_open

    def finish(self) -> None:
        while self._pending:
            self._open.append((self._pending.pop(), hashlib.sha256(), 0))
        self._close_before(None)


def _check_against_signed(row: tuple, recomputed: str, signed: SignedLeaves, leaf: tuple) -> None:
    seq, stored = row[0], row[14]
    signed_seq, signed_hash = leaf
    where = signed.label()
    if seq > signed_seq:
        raise Broken(signed_seq, f"event #{signed_seq}, signed in {where}, is missing")
    if seq < signed_seq:
        raise Broken(
            seq,
            f"event #{seq} is not where {where} signed it: the signed trail has #{signed_seq} "
            "at this position (an event was inserted or the events were reordered)",
        )
    if recomputed != signed_hash:
        how = (
            "its content no longer matches its hash"
            if recomputed != stored
            else "it was rewritten and its hash recomputed"
        )
        raise Broken(seq, f"event #{seq} differs from the version signed in {where}: {how}")


def _check_event(row: tuple, recomputed: str) -> None:
    seq, chain, index, change_id = row[0], row[1], row[2], row[7]
    prev_hash, stored, stored_prev, prev_index = row[13], row[14], row[15], row[16]
    if recomputed != stored:
        raise Broken(seq, f"event #{seq}: its content does not match its hash")
    if change_id is not None and chain != f"change:{change_id}":
        raise Broken(seq, f"event #{seq} is filed in chain {chain}, not its change's")
    if (prev_index or 0) != index - 1:
        raise Broken(
            seq, f"event #{seq}: the event before it in {chain} (number {index - 1}) is missing"
        )
    if (stored_prev or "") != prev_hash:
        raise Broken(seq, f"event #{seq}: the chain link to the previous event is broken")


def _check_chain_end(row: tuple, ends: dict[str, tuple[int, str]]) -> None:
    seq, chain, index, change_id, to_state, stored = row[0], row[1], row[2], row[7], row[9], row[14]
    if change_id is None:
        ends[chain] = (index, stored)  # the system chain(s): a handful, checked after the walk
        return
    state, length, head = row[18], row[19], row[20]
    if index < length:
        raise Broken(
            None,
            f"change {change_id}: its trail ends at event #{seq} (number {index} of its chain) "
            f"but the change records {length} events: the later ones were removed",
        )
    if (index, stored) != (length, head):
        raise Broken(seq, f"event #{seq}: the change's recorded chain head is not this event")
    if state != to_state:
        raise Broken(
            seq,
            f"change {change_id} is in state {state!r} but its trail ends in {to_state!r} "
            f"(event #{seq})",
        )


class _Progress:
    checked = 0


def _walk(signed: SignedLeaves, progress: _Progress) -> dict[str, tuple[int, str]]:
    seals = _Seals()
    ends: dict[str, tuple[int, str]] = {}
    leaf = signed.next()
    checked = 0
    try:
        for row in _rows():
            checked += 1
            # `hashing.event_body`, written out: this loop runs once per event of the whole trail.
            body = {
                "chain": row[1],
                "chain_index": row[2],
                "occurred_at": _iso_time(row[3]),
                "actor": row[4],
                "on_behalf_of": row[5],
                "action": row[6],
                "change": row[7],
                "from_state": row[8],
                "to_state": row[9],
                "data": _json(row[10]),
                "snapshot": None if row[11] is None else _json(row[11]),
                "request_id": row[12],
                "prev_hash": row[13],
            }
            recomputed = event_hash(body)
            if leaf is not None:
                _check_against_signed(row, recomputed, signed, leaf)
                leaf = signed.next()
            _check_event(row, recomputed)
            seals.feed(row[0], row[14])
            if row[17]:
                _check_chain_end(row, ends)
    finally:
        progress.checked = checked
    if leaf is not None:
        raise Broken(leaf[0], f"event #{leaf[0]}, signed in {signed.label()}, is missing")
    seals.finish()
    return ends


# --- after the walk -------------------------------------------------------------------------


def _check_system_heads(ends: dict[str, tuple[int, str]]) -> None:
    heads = {
        chain: (length, head)
        for chain, length, head in AuditChainHead.objects.values_list("chain", "length", "head")
    }
    for chain in sorted(set(heads) | set(ends)):
        if ends.get(chain, (0, "")) != heads.get(chain, (0, "")):
            raise Broken(
                None, f"the {chain} chain does not end where its head row says (events removed)"
            )


def _check_changes_have_events() -> None:
    bare = (
        ChangeRequest.objects.filter(~Exists(AuditEvent.objects.filter(change=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if bare is not None:
        raise Broken(None, f"change {bare} has no audit event at all: its history was erased")


def _check_signed_snapshots(signed: SignedLeaves) -> None:
    stored = {
        row[0]: row
        for row in AuditSnapshot.objects.values_list(
            "pk", "first_seq", "last_seq", "event_count", "digest"
        )
    }
    for number, entry in signed.snapshots:
        row = stored.get(entry["id"])
        expected = (
            entry["id"],
            entry["first_seq"],
            entry["last_seq"],
            entry["event_count"],
            entry["digest"],
        )
        if row != expected:
            what = "is missing" if row is None else "was altered"
            raise Broken(
                entry["first_seq"],
                f"audit snapshot #{entry['id']} over events #{entry['first_seq']}–"
                f"#{entry['last_seq']}, sealed in checkpoint {number}, {what}",
            )


def _decision_rows() -> Iterator[tuple]:
    return (
        Decision.objects.order_by("step_id", "pk")
        .values_list("step_id", "step__change_id", "approver__username", "decision", "pk")
        .iterator(chunk_size=CHUNK)
    )


def _decision_events() -> Iterator[tuple]:
    return (
        AuditEvent.objects.filter(action__in=DECISION_ACTIONS, data__has_key="step_id")
        # Asking the implementer for more on a review keeps the review open and fills no seat:
        # that event has no decision row by design.
        .exclude(data__has_key="review")
        .annotate(step=Cast(KeyTextTransform("step_id", "data"), BigIntegerField()))
        .order_by("step", "seq")
        .values_list("step", "change_id", "actor_name", "data__decision", "seq")
        .iterator(chunk_size=CHUNK)
    )


# The same comparison as _match_decisions, done by PostgreSQL: each (step, change, approver,
# decision) counted on both sides, and only the first disagreement in step order sent back (an
# event beyond the rows' count before a row beyond the events', as the walk in Python finds it).
_DECISIONS_SQL = """
WITH r AS (
    SELECT d.step_id AS step, s.change_id AS change, u.username AS who, d.decision AS decision,
           count(*) AS n, min(d.id) AS first_pk
    FROM {decision} d JOIN {step} s ON s.id = d.step_id JOIN {user} u ON u.id = d.approver_id
    GROUP BY 1, 2, 3, 4
), e AS (
    SELECT CAST(data ->> 'step_id' AS bigint) AS step, change_id AS change, actor_name AS who,
           data ->> 'decision' AS decision, count(*) AS n, array_agg(seq ORDER BY seq) AS seqs
    FROM {event}
    WHERE action = ANY(%s) AND data ? 'step_id' AND NOT data ? 'review'
    GROUP BY 1, 2, 3, 4
)
SELECT step, change, who, decision,
       CASE WHEN coalesce(e.n, 0) > coalesce(r.n, 0) THEN e.seqs[coalesce(r.n, 0) + 1] END,
       CASE WHEN coalesce(r.n, 0) > coalesce(e.n, 0) THEN r.first_pk END
FROM r FULL JOIN e USING (step, change, who, decision)
WHERE coalesce(r.n, 0) <> coalesce(e.n, 0)
ORDER BY step, coalesce(e.n, 0) > coalesce(r.n, 0) DESC,
         CASE WHEN coalesce(e.n, 0) > coalesce(r.n, 0) THEN e.seqs[coalesce(r.n, 0) + 1] END,
         r.first_pk
LIMIT 1
"""


def _first_decision_mismatch() -> tuple | None:
    sql = _DECISIONS_SQL.format(
        decision=Decision._meta.db_table,
        step=Decision._meta.get_field("step").related_model._meta.db_table,  # type: ignore[union-attr]
        user=Decision._meta.get_field("approver").related_model._meta.db_table,  # type: ignore[union-attr]
        event=AuditEvent._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(DECISION_ACTIONS)])
        return cursor.fetchone()


def _check_decisions() -> None:
    """Every Decision row has its event (same change, step, approver and decision) and every
    decision event its row: the pages and the API show the rows, the trail is the proof."""
    if connection.vendor == "postgresql":
        mismatch = _first_decision_mismatch()
        if mismatch is None:
            return
        step, change, who, decision, seq, pk = mismatch
        if seq is not None:
            raise Broken(seq, _event_without_row(seq, who, decision, step))
        raise Broken(None, _row_without_event(pk, who, decision, step, change))
    decision_rows, decision_events = _decision_rows(), _decision_events()
    try:
        _match_decisions(decision_rows, decision_events)
    finally:
        # Stopping at the first mismatch leaves both server-side cursors half read: close them
        # now, inside this transaction, rather than whenever the collector gets to them.
        decision_rows.close()  # type: ignore[attr-defined]
        decision_events.close()  # type: ignore[attr-defined]


def _match_decisions(decision_rows: Iterator[tuple], decision_events: Iterator[tuple]) -> None:
    rows = groupby(decision_rows, key=lambda r: r[0])
    events = groupby(decision_events, key=lambda e: e[0])
    row_step, row_group = next(rows, (None, iter(())))
    event_step, event_group = next(events, (None, iter(())))
    while row_step is not None or event_step is not None:
        if event_step is None or (row_step is not None and row_step < event_step):
            _compare_step(list(row_group), [])
            row_step, row_group = next(rows, (None, iter(())))
        elif row_step is None or event_step < row_step:
            _compare_step([], list(event_group))
            event_step, event_group = next(events, (None, iter(())))
        else:
            _compare_step(list(row_group), list(event_group))
            row_step, row_group = next(rows, (None, iter(())))
            event_step, event_group = next(events, (None, iter(())))


def _compare_step(rows: list[tuple], events: list[tuple]) -> None:
    recorded = Counter(r[1:4] for r in rows)
    for event in events:
        key = event[1:4]
        if recorded[key] > 0:
            recorded[key] -= 1
            continue
        step, _change, who, decision, seq = event
        raise Broken(seq, _event_without_row(seq, who, decision, step))
    for row in rows:
        if recorded[row[1:4]] > 0:
            step, change, who, decision, pk = row
            raise Broken(None, _row_without_event(pk, who, decision, step, change))


def _event_without_row(seq: int, who: str, decision: str, step: int) -> str:
    return (
        f"event #{seq} records {who}'s {decision} on step {step}, but the change's decisions "
        "say otherwise"
    )


def _row_without_event(pk: int, who: str, decision: str, step: int, change: int) -> str:
    return (
        f"decision {pk} ({who}'s {decision} on step {step} of change {change}) has no audit event"
    )


# --- entry point ----------------------------------------------------------------------------


def latest_signed(
    directory: Path | None = None,
    key: Ed25519PublicKey | None = None,
    files: list[Path] | None = None,
) -> dict[str, Any] | None:
    """Tree size, root, time and file of the newest checkpoint (None if none verifies)."""
    files = checkpoints.checkpoint_files(directory) if files is None else files
    if not files:
        return None
    try:
        latest = checkpoints.latest_checkpoint(key=key or signing.public_key(), files=files)
    except checkpoints.CheckpointError:
        return None
    return latest.summary() if latest else None


def verify_trail(
    *, directory: Path | None = None, key: Ed25519PublicKey | None = None
) -> VerifyResult:
    """Verify the whole trail against the signed checkpoints, its snapshot seals, the change
    rows and the decisions; name the first broken event."""
    if key is None and checkpoints.checkpoint_files(directory):
        key = signing.public_key()
    signed = SignedLeaves(directory, key)
    summary = latest_signed(key=key, files=signed.files)
    progress = _Progress()
    outermost = not connection.in_atomic_block
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    if outermost:
                        # Every query of the run must see the same database: an action
                        # committing meanwhile would otherwise show a decision without its
                        # event, or a change ahead of its trail.
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    # The chain order is one sort of the whole trail (about 170 MB a million
                    # events): in memory rather than on disk, for this transaction only.
                    cursor.execute("SET LOCAL work_mem = '256MB'")
                    cursor.execute("SET LOCAL datestyle = 'ISO'")  # what _iso_time reads
            ends = _walk(signed, progress)
            _check_system_heads(ends)
            _check_changes_have_events()
            _check_signed_snapshots(signed)
            _check_decisions()
    except Broken as broken:
        return VerifyResult(False, progress.checked, broken.seq, broken.reason, summary)
    return VerifyResult(True, progress.checked, None, "", summary)


def verify_chain() -> VerifyResult:
    """The whole verification with the configured checkpoint directory and key."""
    return verify_trail()
