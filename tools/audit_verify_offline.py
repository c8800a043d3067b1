#!/usr/bin/env python3
"""Verify an export of the audit trail against the signed checkpoints, without the application.

Needs only Python 3.11+ and the `cryptography` package; imports nothing from the project, so an
auditor can read it whole (docs/audit-evidence.md describes the same formats in prose).

    # the whole trail: every hash, every chain link, every event the checkpoints signed
    python3 audit_verify_offline.py audit.json --checkpoints DIR --public-key audit-public.pem

    # one event: its inclusion proof (python manage.py audit_inclusion_proof SEQ > proof.json)
    python3 audit_verify_offline.py audit.json --checkpoints DIR --public-key audit-public.pem \
        --proof proof.json

audit.json is GET /api/v1/audit-events/export/?format=json (the whole trail, unfiltered).
Exit status 0 when everything verifies, 1 naming the first bad event, 2 on unusable input.
"""

import argparse
import base64
import hashlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

CHECKPOINT_FORMAT = "changemgmt-audit-checkpoint/1"


class Broken(Exception):
    def __init__(self, seq, reason):
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


# --- hashing (docs/audit-evidence.md, "Event hash") ------------------------------------------


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event):
    body = {
        "chain": event["chain"],
        "chain_index": event["chain_index"],
        "occurred_at": datetime.fromisoformat(event["occurred_at"]).astimezone(UTC).isoformat(),
        "actor": event["actor"] or "",
        "on_behalf_of": event["on_behalf_of"] or "",
        "action": event["action"],
        "change": event["change"],
        "from_state": event["from_state"],
        "to_state": event["to_state"],
        "data": event["data"],
        "snapshot": event["snapshot"],
        "request_id": event["request_id"],
        "prev_hash": event["prev_hash"],
    }
    return hashlib.sha256(event["prev_hash"].encode() + b"\n" + canonical(body)).hexdigest()


# --- Merkle tree (RFC 6962) ------------------------------------------------------------------


def leaf_hash(seq, value):
    return hashlib.sha256(b"\x00" + f"{seq}:{value}".encode("ascii")).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """The right edge of the tree: (height, hash) of each perfect subtree."""

    def __init__(self):
        self.size = 0
        self.subtrees = []

    def append(self, leaf):
        height, value = 0, leaf
        while self.subtrees and self.subtrees[-1][0] == height:
            value = node_hash(self.subtrees.pop()[1], value)
            height += 1
        self.subtrees.append((height, value))
        self.size += 1

    def root(self):
        if not self.subtrees:
            return hashlib.sha256(b"").digest()
        value = self.subtrees[-1][1]
        for _, left in reversed(self.subtrees[:-1]):
            value = node_hash(left, value)
        return value


def root_from_inclusion(index, size, leaf, path):
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        raise ValueError("the leaf index is outside the tree")
    fn, sn, value = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("the audit path is too long")
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            value = node_hash(value, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the audit path is too short")
    return value


# --- checkpoints -----------------------------------------------------------------------------


def load_key(path):
    key = load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise SystemExit("the public key is not an Ed25519 key")
    return key


def read_checkpoints(directory, key):
    """Each checkpoint file in order, checked: signature, sequence, leaves against the signed
    root, snapshot seal chain. Returns [(head, leaves)]."""
    files = sorted(Path(directory).glob("checkpoint-*.json"))
    if not files:
        raise Broken(None, f"no checkpoint file in {directory}")
    tree, previous, checked = Tree(), None, []
    seals_head, seals_count = "", 0
    for path in files:
        document = json.loads(path.read_bytes())
        head = document["checkpoint"]
        try:
            key.verify(base64.b64decode(document["signature"]), canonical(head))
        except (InvalidSignature, ValueError):
            raise Broken(None, f"{path.name}: the signature does not verify") from None
        if head.get("format") != CHECKPOINT_FORMAT:
            raise Broken(None, f"{path.name}: unknown format")
        expected = (
            None if previous is None else {k: previous[k] for k in ("number", "tree_size", "root")}
        )
        number = 1 if previous is None else previous["number"] + 1
        if head["number"] != number or head["previous"] != expected:
            raise Broken(None, f"{path.name}: does not follow the previous checkpoint")
        leaves = [(int(seq), value) for seq, value in document["leaves"]]
        for seq, value in leaves:
            tree.append(leaf_hash(seq, value))
        if tree.size != head["tree_size"] or tree.root().hex() != head["root"]:
            raise Broken(None, f"{path.name}: its leaves do not produce its signed root")
        for entry in document["snapshots"]:
            seals_head = hashlib.sha256(seals_head.encode() + b"\n" + canonical(entry)).hexdigest()
        seals_count += len(document["snapshots"])
        seals = head["snapshots"]
        if (seals["count"], seals["head"]) != (seals_count, seals_head):
            raise Broken(None, f"{path.name}: its snapshot seals do not match its signed head")
        checked.append((path, head, leaves))
        previous = head
    return checked


# --- the trail -------------------------------------------------------------------------------


def verify_trail(events, checkpoints):
    signed = [(leaf, head) for _, head, leaves in checkpoints for leaf in leaves]
    heads = {}
    for position, event in enumerate(sorted(events, key=lambda e: e["seq"])):
        seq = event["seq"]
        recomputed = event_hash(event)
        if position < len(signed):
            (signed_seq, signed_hash), head = signed[position]
            where = f"checkpoint {head['number']}"
            if seq > signed_seq:
                raise Broken(signed_seq, f"event #{signed_seq}, signed in {where}, is missing")
            if seq < signed_seq:
                raise Broken(
                    seq, f"event #{seq} is not where {where} signed it (inserted or reordered)"
                )
            if recomputed != signed_hash:
                how = (
                    "its content was altered"
                    if recomputed != event["hash"]
                    else "it was rewritten and re-hashed"
                )
                raise Broken(seq, f"event #{seq} differs from the version signed in {where}: {how}")
        if recomputed != event["hash"]:
            raise Broken(seq, f"event #{seq}: its content does not match its hash")
        index, previous = heads.get(event["chain"], (0, ""))
        if event["chain_index"] != index + 1:
            raise Broken(seq, f"event #{seq}: the event before it in {event['chain']} is missing")
        if event["prev_hash"] != previous:
            raise Broken(seq, f"event #{seq}: the chain link to the previous event is broken")
        heads[event["chain"]] = (event["chain_index"], event["hash"])
    if len(signed) > len(events):
        (missing, _), head = signed[len(events)]
        raise Broken(
            missing, f"event #{missing}, signed in checkpoint {head['number']}, is missing"
        )
    return len(events), len(signed)


def verify_proof(proof, events, checkpoints):
    event = next((e for e in events if e["seq"] == proof["seq"]), None)
    if event is None:
        raise Broken(proof["seq"], f"event #{proof['seq']} is not in the export")
    recomputed = event_hash(event)
    if recomputed != proof["event_hash"]:
        raise Broken(proof["seq"], f"event #{proof['seq']} is not the event the proof is about")
    head = next((h for p, h, _ in checkpoints if p.name == proof["checkpoint_file"]), None)
    if head is None:
        raise Broken(None, f"no verified checkpoint file {proof['checkpoint_file']}")
    if (head["tree_size"], head["root"]) != (proof["tree_size"], proof["root"]):
        raise Broken(None, "the proof names another tree than its checkpoint signed")
    path = [bytes.fromhex(node) for node in proof["path"]]
    try:
        root = root_from_inclusion(
            proof["leaf_index"], proof["tree_size"], leaf_hash(event["seq"], recomputed), path
        )
    except ValueError as exc:
        raise Broken(proof["seq"], f"the inclusion proof is malformed: {exc}") from None
    if root.hex() != head["root"]:
        raise Broken(proof["seq"], f"event #{proof['seq']} is not in the signed tree")
    return head


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="JSON export of the whole audit trail")
    parser.add_argument("--checkpoints", required=True, help="directory of checkpoint files")
    parser.add_argument("--public-key", required=True, help="PEM file of the Ed25519 public key")
    parser.add_argument("--proof", help="an inclusion proof to check instead of the whole trail")
    args = parser.parse_args(argv)
    try:
        events = json.loads(Path(args.export).read_bytes())
        key = load_key(args.public_key)
    except (OSError, ValueError) as exc:
        print(f"unusable input: {exc}", file=sys.stderr)
        return 2
    try:
        checkpoints = read_checkpoints(args.checkpoints, key)
        if args.proof:
            proof = json.loads(Path(args.proof).read_bytes())
            head = verify_proof(proof, events, checkpoints)
            print(
                f"OK: event #{proof['seq']} is leaf {proof['leaf_index']} of the tree of "
                f"{head['tree_size']} events signed in checkpoint {head['number']} "
                f"({head['timestamp']})"
            )
            return 0
        total, covered = verify_trail(events, checkpoints)
    except Broken as broken:
        where = f"event #{broken.seq}" if broken.seq is not None else "the evidence"
        print(f"BROKEN at {where}: {broken.reason}")
        return 1
    except (KeyError, TypeError, ValueError) as exc:
        print(f"unusable input: {exc!r}", file=sys.stderr)
        return 2
    head = checkpoints[-1][1]
    print(
        f"OK: {total} events verified, {covered} of them under signed checkpoint "
        f"{head['number']} ({head['timestamp']}, root {head['root']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
