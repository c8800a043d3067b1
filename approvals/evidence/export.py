"""The audit trail as files an auditor takes away: CSV and JSON, streamed (the API's export and
the trail page's; who may export is the caller's business).

Each event carries every field its hash covers, so that an export can be verified offline.
Events are read through a server-side cursor as plain values, never model instances, and the
database hands over the time already in its ISO 8601 form and the stored JSON as text, which
PostgreSQL writes as `json.dumps(..., ensure_ascii=False)` does (but for a float below 0.0001,
which it spells out: 0.00001 where Python writes 1e-05, the same number), so nothing is decoded
and encoded again here. On PostgreSQL the next rows are fetched on a thread of their own while
the current ones are written (the driver releases the GIL while it waits). The file leaves in
pieces of 64 KiB: memory stays flat however long the trail is.

CSV as the `csv` module's default (excel) dialect writes it, without its per-character cost: a
field is quoted when it holds a comma, a quote or a line break, its quotes doubled; rows end in
CRLF; a missing value is empty. JSON: one array, an event a line.
"""

import json
import queue
import threading
from collections.abc import Iterator
from json.encoder import encode_basestring
from typing import Any

from django.db import connection, transaction
from django.db.models import Func, QuerySet, TextField
from django.db.models.functions import Cast

from approvals.models import AuditEvent
from approvals.naming import change_key

EVENT_FIELDS = (
    "seq",
    "occurred_at",
    "actor",
    "on_behalf_of",
    "action",
    "change",
    "from_state",
    "to_state",
    "data",
    "prev_hash",
    "hash",
    "chain",
    "chain_index",
    "snapshot",
    "request_id",
)
# The trail page's files name each change by its key too, right after its id.
KEYED_FIELDS = (*EVENT_FIELDS[:6], "change_key", *EVENT_FIELDS[6:])

FETCH_ROWS = 500  # rows a round trip to the database
PIECE_BYTES = 64 * 1024  # what the server is handed at a time

Row = tuple[Any, ...]


class _IsoTime(Func):
    """A time as Python's `isoformat()` of it in UTC writes it: "2026-11-25T02:51:38.400000+00:00",
    without the fraction when the microseconds are zero (what the hash covers)."""

    template = (
        "REPLACE(TO_CHAR(%(expressions)s AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), '.000000+', '+')"
    )
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django stores a time there as the text of its naive UTC value ("2026-11-25 02:51:38.4…").
        return self.as_sql(
            compiler, connection, template="REPLACE(%(expressions)s, ' ', 'T') || '+00:00'"
        )


def _values(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent, Row]:
    return events.order_by("seq").values_list(
        "seq",
        _IsoTime("occurred_at"),
        "actor_name",
        "on_behalf_of_name",
        "action",
        "change_id",
        "from_state",
        "to_state",
        Cast("data", TextField()),
        "prev_hash",
        "hash",
        "chain",
        "chain_index",
        Cast("snapshot", TextField()),
        "request_id",
    )


def _rows(events: QuerySet[AuditEvent]) -> Iterator[list[Row]]:
    """The events' rows in `seq` order, FETCH_ROWS at a time."""
    fetch = FETCH_ROWS
    sql, params = _values(events).query.sql_with_params()
    # Inside a transaction the cursor streams; outside one (autocommit) PostgreSQL would first
    # copy the whole result aside, for a cursor that outlives its transaction.
    with transaction.atomic():
        cursor = connection.chunked_cursor()
        try:
            cursor.execute(sql, params)
            if connection.vendor == "postgresql":
                yield from _prefetched(cursor, fetch)
            else:
                for rows in iter(lambda: cursor.fetchmany(fetch), []):
                    yield [_from_sqlite(row) for row in rows]
        finally:
            cursor.close()


def _prefetched(cursor: Any, size: int) -> Iterator[list[Row]]:
    chunks: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()
    fetcher = threading.Thread(target=_fetch, args=(cursor, size, chunks, stop), daemon=True)
    fetcher.start()
    try:
        while rows := chunks.get():
            if isinstance(rows, BaseException):
                raise rows
            yield rows
    finally:
        # The fetcher may be blocked on a full queue: let it finish before the cursor closes.
        stop.set()
        while fetcher.is_alive():
            try:
                chunks.get(timeout=0.1)
            except queue.Empty:
                continue


def _fetch(cursor: Any, size: int, out: "queue.Queue[Any]", stop: threading.Event) -> None:
    try:
        while not stop.is_set():
            rows = cursor.fetchmany(size)
            out.put(rows)
            if not rows:
                return
    except BaseException as exc:  # handed to the writing thread, which raises it
        out.put(exc)


def _from_sqlite(row: Row) -> Row:
    """SQLite keeps the JSON as Django wrote it, non-ASCII escaped: written again as the files
    write it."""
    snapshot = row[13] if row[13] is None else _unescaped(row[13])
    return (*row[:8], _unescaped(row[8]), *row[9:13], snapshot, row[14])


def _unescaped(text: str) -> str:
    return json.dumps(json.loads(text), ensure_ascii=False)


def _pieces(lines: list[bytes], *, opening: bytes = b"", separator: bytes = b"") -> Iterator[bytes]:
    # Each line encoded on its own: a line in Chinese does not widen the whole chunk to two
    # bytes a character before it is encoded.
    data = memoryview(opening + separator.join(lines))
    for start in range(0, len(data), PIECE_BYTES):
        yield bytes(data[start : start + PIECE_BYTES])


# --- CSV --------------------------------------------------------------------------------------


def _field(value: str) -> str:
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\n" in value or "\r" in value:
        return f'"{value}"'
    return value


def _csv_line(row: Row, keyed: bool) -> str:
    seq, at, actor, behalf, action, change, was, now, data, prev, hashed, chain, index = row[:13]
    snapshot, request = row[13], row[14]
    names = (at, actor, behalf, action, was, now, prev, hashed, chain, request)
    # These are plain words nearly always: one look at all of them instead of one at each.
    probe = "".join(names)
    if '"' in probe or "," in probe or "\n" in probe or "\r" in probe:
        at, actor, behalf, action, was, now, prev, hashed, chain, request = map(_field, names)
    change_text = "" if change is None else str(change)
    if keyed:
        change_text += "," + change_key(change)
    return (
        f"{seq},{at},{actor},{behalf},{action},{change_text},{was},{now},{_field(data)},"
        f"{prev},{hashed},{chain},{index},{'null' if snapshot is None else _field(snapshot)},"
        f"{request}\r\n"
    )


def csv_pieces(events: QuerySet[AuditEvent], *, keyed: bool = False) -> Iterator[bytes]:
    """A header row, then one row an event (`data` and `snapshot` as JSON)."""
    yield (",".join(KEYED_FIELDS if keyed else EVENT_FIELDS) + "\r\n").encode()
    for rows in _rows(events):
        yield from _pieces([_csv_line(row, keyed).encode() for row in rows])


# --- JSON -------------------------------------------------------------------------------------


def _name(value: str) -> str:
    return encode_basestring(value) if value else "null"


def _json_line(row: Row, keyed: bool) -> str:
    seq, at, actor, behalf, action, change, was, now, data, prev, hashed, chain, index = row[:13]
    snapshot, request = row[13], row[14]
    change_text = "null" if change is None else str(change)
    if keyed:
        key = "null" if change is None else f'"{change_key(change)}"'
        change_text += f', "change_key": {key}'
    return (
        f'{{"seq": {seq}, "occurred_at": {encode_basestring(at)}, "actor": {_name(actor)}, '
        f'"on_behalf_of": {_name(behalf)}, "action": {encode_basestring(action)}, '
        f'"change": {change_text}, "from_state": {encode_basestring(was)}, '
        f'"to_state": {encode_basestring(now)}, "data": {data}, '
        f'"prev_hash": {encode_basestring(prev)}, "hash": {encode_basestring(hashed)}, '
        f'"chain": {encode_basestring(chain)}, "chain_index": {index}, '
        f'"snapshot": {"null" if snapshot is None else snapshot}, '
        f'"request_id": {encode_basestring(request)}}}'
    )


def json_pieces(events: QuerySet[AuditEvent], *, keyed: bool = False) -> Iterator[bytes]:
    """One JSON array, an event a line."""
    opening = b"["
    for rows in _rows(events):
        lines = [_json_line(row, keyed).encode() for row in rows]
        yield from _pieces(lines, opening=opening, separator=b",\n")
        opening = b",\n"
    yield b"[]\n" if opening == b"[" else b"]\n"
