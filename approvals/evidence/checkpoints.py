"""Signed checkpoints of the audit trail, written outside the database.

Every minute (beat) the events settled since the previous checkpoint are appended to the Merkle
tree and a new checkpoint file is written to AUDIT_CHECKPOINT_DIR: the signed tree head (size,
root, time, previous head, snapshot chain) plus the new leaves, the new snapshot seals and the
tree's frontier. The next run starts from that file's frontier, never from the database, so it
hashes only what is new. docs/audit-evidence.md describes the format byte for byte.
"""

import base64
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from approvals.evidence import signing
from approvals.evidence.merkle import Frontier, leaf_hash
from approvals.models import AuditCheckpoint, AuditEvent, AuditSnapshot

log = logging.getLogger(__name__)

FORMAT = "changemgmt-audit-checkpoint/1"
FILE_PREFIX = "checkpoint-"
_LOCK_KEY = 0x0C4E_C4B7  # names the advisory lock that serialises checkpoint writers


class CheckpointError(Exception):
    """A checkpoint file that cannot be trusted: bad signature, broken sequence, wrong root."""


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def snapshot_entry(snapshot: AuditSnapshot) -> dict[str, Any]:
    return {
        "id": snapshot.pk,
        "first_seq": snapshot.first_seq,
        "last_seq": snapshot.last_seq,
        "event_count": snapshot.event_count,
        "digest": snapshot.digest,
    }


def snapshot_chain(head: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(head.encode() + b"\n" + canonical_json(entry)).hexdigest()


@dataclass
class SignedCheckpoint:
    """One checkpoint file, its signature checked and its leaves folded into its root."""

    path: Path
    head: dict[str, Any]
    leaves: list[tuple[int, str]]
    snapshots: list[dict[str, Any]]
    frontier: Frontier = field(repr=False)

    @property
    def tree_size(self) -> int:
        return int(self.head["tree_size"])

    def summary(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root": self.head["root"],
            "last_seq": self.head["last_seq"],
            "timestamp": self.head["timestamp"],
            "file": self.path.name,
        }


def checkpoint_dir() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def checkpoint_files(directory: Path | None = None) -> list[Path]:
    folder = directory or checkpoint_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{FILE_PREFIX}*.json"))


def _check_signature(path: Path, document: dict[str, Any], key: Ed25519PublicKey) -> None:
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        key.verify(signature, canonical_json(document["checkpoint"]))
    except (KeyError, ValueError, InvalidSignature):
        raise CheckpointError(f"{path.name}: the signature does not verify") from None


def read_checkpoints(
    *,
    directory: Path | None = None,
    key: Ed25519PublicKey | None = None,
    files: list[Path] | None = None,
) -> Iterator[SignedCheckpoint]:
    """Every checkpoint file in order, each checked against the previous one: signature, the
    previous head it names, its leaves folding into its signed root, its snapshot chain. Only one
    file is held in memory at a time."""
    key = key or signing.public_key()
    tree = Frontier()
    previous: dict[str, Any] | None = None
    snapshots_head, snapshots_count = "", 0
    for path in checkpoint_files(directory) if files is None else files:
        try:
            document = json.loads(path.read_bytes())
            head = document["checkpoint"]
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{path.name}: not a checkpoint file") from None
        _check_signature(path, document, key)
        if head.get("format") != FORMAT:
            raise CheckpointError(f"{path.name}: unknown format {head.get('format')!r}")
        expected = (
            {
                "number": previous["number"],
                "tree_size": previous["tree_size"],
                "root": previous["root"],
            }
            if previous
            else None
        )
        if (
            head.get("number") != (previous["number"] + 1 if previous else 1)
            or head.get("previous") != expected
        ):
            raise CheckpointError(
                f"{path.name}: it does not follow the previous checkpoint (a file is missing)"
            )
        leaves = [(int(seq), str(value)) for seq, value in document.get("leaves", [])]
        for seq, value in leaves:
            tree.append(leaf_hash(seq, value))
        if tree.size != head["tree_size"] or tree.root().hex() != head["root"]:
            raise CheckpointError(f"{path.name}: its leaves do not produce its signed root")
        entries = document.get("snapshots", [])
        for entry in entries:
            snapshots_head = snapshot_chain(snapshots_head, entry)
        snapshots_count += len(entries)
        sealed = head.get("snapshots") or {}
        if (sealed.get("count"), sealed.get("head")) != (snapshots_count, snapshots_head):
            raise CheckpointError(f"{path.name}: its snapshot seals do not match its signed head")
        previous = head
        yield SignedCheckpoint(
            path, head, leaves, entries, Frontier(tree.size, list(tree.subtrees))
        )


def latest_checkpoint(
    *,
    directory: Path | None = None,
    key: Ed25519PublicKey | None = None,
    files: list[Path] | None = None,
) -> SignedCheckpoint | None:
    """The newest checkpoint file, checked on its own: signature, and its frontier against its
    root (what the writer needs to go on without re-reading the older files)."""
    files = checkpoint_files(directory) if files is None else files
    if not files:
        return None
    path = files[-1]
    try:
        document = json.loads(path.read_bytes())
        head = document["checkpoint"]
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"{path.name}: not a checkpoint file") from None
    _check_signature(path, document, key or signing.public_key())
    try:
        frontier = Frontier.from_json(int(head["tree_size"]), document["frontier"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"{path.name}: its frontier does not fit its tree") from None
    if frontier.root().hex() != head["root"]:
        raise CheckpointError(f"{path.name}: its frontier does not produce its signed root")
    return SignedCheckpoint(path, head, [], [], frontier)


# --- writing --------------------------------------------------------------------------------


@contextmanager
def _one_writer() -> Iterator[None]:
    # Two writers extending the same checkpoint would fork the sequence of files. A file lock
    # serialises writers on one host; on PostgreSQL an advisory lock serialises every host.
    lock_path = Path(settings.VAR_DIR) / "audit-checkpoint.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle, transaction.atomic():
        fcntl.flock(handle, fcntl.LOCK_EX)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        yield


def _settled_bound(after: int, cutoff: datetime) -> int | None:
    """Events numbered below this are settled (see approvals.snapshots: a sequence number is
    taken at insert and shows at commit, so only events older than the margin are taken)."""
    return (
        AuditEvent.objects.filter(seq__gt=after, occurred_at__gte=cutoff)
        .aggregate(seq=Min("seq"))
        .get("seq")
    )


def _new_leaves(after: int, cutoff: datetime, limit: int) -> list[tuple[int, str]]:
    rows = AuditEvent.objects.filter(seq__gt=after, occurred_at__lt=cutoff)
    bound = _settled_bound(after, cutoff)
    if bound is not None:
        rows = rows.filter(seq__lt=bound)
    return list(rows.order_by("seq").values_list("seq", "hash")[:limit])


def _new_snapshots(after_id: int) -> list[dict[str, Any]]:
    return [snapshot_entry(s) for s in AuditSnapshot.objects.filter(pk__gt=after_id).order_by("pk")]


def _write_file(directory: Path, name: str, content: bytes) -> Path:
    """Write once: the file appears whole under its final name or not at all, and an existing
    checkpoint is never replaced (os.link refuses to overwrite)."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    temporary = directory / f".{name}.{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, final)
    finally:
        temporary.unlink()
    return final


def _send_to_witness(document: dict[str, Any]) -> str:
    url = settings.AUDIT_WITNESS_URL
    if not url:
        return ""
    try:
        response = requests.post(
            url,
            json={"checkpoint": document["checkpoint"], "signature": document["signature"]},
            timeout=settings.AUDIT_WITNESS_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        log.warning("the audit witness did not take checkpoint %s: %s", url, exc)
        return f"failed: {exc}"[:200]
    return "sent"


def _record(**fields: Any) -> AuditCheckpoint:
    """The database's copy of a checkpoint just written, for pages and the API. A sink that was
    replaced starts numbering again; the file stands, the copy of an older number is kept."""
    checkpoint = AuditCheckpoint(**fields)
    try:
        with transaction.atomic():
            checkpoint.save(force_insert=True)
    except IntegrityError:
        log.warning("checkpoint %s is already recorded; the sink was replaced", fields["number"])
    return checkpoint


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def checkpoint_write(*, now: datetime | None = None) -> AuditCheckpoint | None:
    """Append the settled events (and snapshot seals) written since the newest checkpoint to the
    tree, sign the new head and write it to the checkpoint directory (and the witness, when one
    is configured). None when nothing new settled. Raises CheckpointError rather than extend a
    checkpoint file it cannot verify."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.AUDIT_CHECKPOINT_MARGIN_SECONDS)
    key = signing.signing_key()
    public = key.public_key()
    with _one_writer():
        previous = latest_checkpoint(key=public)
        head = previous.head if previous else None
        tree = previous.frontier if previous else Frontier()
        last_seq = head["last_seq"] if head else 0
        snapshots = head["snapshots"] if head else {"count": 0, "head": "", "last_id": 0}
        leaves = _new_leaves(last_seq or 0, cutoff, settings.AUDIT_CHECKPOINT_MAX_LEAVES)
        entries = _new_snapshots(snapshots.get("last_id", 0))
        if not leaves and not entries:
            return None
        for seq, value in leaves:
            tree.append(leaf_hash(seq, value))
        chain = snapshots["head"]
        for entry in entries:
            chain = snapshot_chain(chain, entry)
        signed: dict[str, Any] = {
            "format": FORMAT,
            "number": head["number"] + 1 if head else 1,
            "key_id": signing.key_id(public),
            "tree_size": tree.size,
            "root": tree.root().hex(),
            "last_seq": leaves[-1][0] if leaves else last_seq,
            "timestamp": _timestamp(now),
            "previous": (
                {"number": head["number"], "tree_size": head["tree_size"], "root": head["root"]}
                if head
                else None
            ),
            "snapshots": {
                "count": snapshots["count"] + len(entries),
                "head": chain,
                "last_id": entries[-1]["id"] if entries else snapshots.get("last_id", 0),
            },
        }
        document: dict[str, Any] = {
            "checkpoint": signed,
            "signature": base64.b64encode(key.sign(canonical_json(signed))).decode(),
            "leaves": [[seq, value] for seq, value in leaves],
            "snapshots": entries,
            "frontier": tree.to_json(),
        }
        name = f"{FILE_PREFIX}{signed['number']:09d}.json"
        path = _write_file(checkpoint_dir(), name, canonical_json(document))
        return _record(
            number=signed["number"],
            tree_size=tree.size,
            root=signed["root"],
            last_seq=signed["last_seq"],
            signed_at=now,
            file_name=path.name,
            key_id=signed["key_id"],
            signature=document["signature"],
            witness=_send_to_witness(document),
        )
