"""The event hash, computed fast enough to re-verify millions of events.

The definition is `approvals.audit.canonical` / `compute_hash` (stdlib JSON, sorted keys, compact
separators, no ASCII escaping). orjson produces the same bytes for every value the trail holds
except floats written in exponent form, which its output then betrays ("1e-7", "0.00001"); those
events, and anything orjson refuses (integers beyond 64 bits), take the stdlib path.
"""

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the stdlib path is the definition anyway
    orjson = None  # type: ignore[assignment]

_MAY_DIFFER = re.compile(rb"[0-9]e-|0\.0000")


def canonical_bytes(body: dict[str, Any]) -> bytes:
    if orjson is not None:
        try:
            encoded = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            encoded = b""
        # Substring tests first: the regular expression is slow, and rarely needed.
        suspect = b"e-" in encoded or b"0.0000" in encoded
        if encoded and not (suspect and _MAY_DIFFER.search(encoded)):
            return encoded
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def event_body(  # occurred_at: a datetime, or already its UTC ISO 8601 text
    *,
    chain: str,
    chain_index: int,
    occurred_at: datetime | str,
    actor: str,
    on_behalf_of: str,
    action: str,
    change: int | None,
    from_state: str,
    to_state: str,
    data: Any,
    snapshot: Any,
    request_id: str,
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "chain": chain,
        "chain_index": chain_index,
        "occurred_at": occurred_at
        if isinstance(occurred_at, str)
        else occurred_at.astimezone(UTC).isoformat(),
        "actor": actor,
        "on_behalf_of": on_behalf_of,
        "action": action,
        "change": change,
        "from_state": from_state,
        "to_state": to_state,
        "data": data,
        "snapshot": snapshot,
        "request_id": request_id,
        "prev_hash": prev_hash,
    }


def event_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(body["prev_hash"].encode() + b"\n" + canonical_bytes(body)).hexdigest()
