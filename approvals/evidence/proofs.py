"""Inclusion proofs: that one event is in the tree a signed checkpoint names (RFC 6962 audit
path). Built from the checkpoint files alone, so the database need not be trusted either."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from approvals.evidence import checkpoints
from approvals.evidence.merkle import inclusion_path, leaf_hash


class ProofError(Exception):
    pass


def _signed_leaves(directory: Path | None) -> Iterator[tuple[int, str]]:
    for signed in checkpoints.read_checkpoints(directory=directory):
        yield from signed.leaves


def inclusion_proof(
    *, seq: int, checkpoint_number: int | None = None, directory: Path | None = None
) -> dict[str, Any]:
    """The proof that event `seq` is leaf i of the tree signed by checkpoint `checkpoint_number`
    (default: the newest). Reads the checkpoint files twice, one file at a time."""
    index, event_hash, target = None, "", None
    position = 0
    for signed in checkpoints.read_checkpoints(directory=directory):
        for leaf_seq, value in signed.leaves:
            if leaf_seq == seq:
                index, event_hash = position, value
            position += 1
        if checkpoint_number is None or signed.head["number"] == checkpoint_number:
            target = signed
        if checkpoint_number is not None and signed.head["number"] == checkpoint_number:
            break
    if target is None:
        raise ProofError("no such signed checkpoint")
    size = target.tree_size
    if index is None or index >= size:
        raise ProofError(f"event #{seq} is not in checkpoint {target.head['number']}")
    leaves = (leaf_hash(s, h) for s, h in _signed_leaves(directory))
    path = inclusion_path(index, size, leaves)
    return {
        "format": "changemgmt-audit-inclusion/1",
        "seq": seq,
        "event_hash": event_hash,
        "leaf_index": index,
        "tree_size": size,
        "root": target.head["root"],
        "checkpoint_file": target.path.name,
        "path": [node.hex() for node in path],
    }
