"""The Merkle tree over the audit trail, as RFC 6962 (Certificate Transparency) defines it.

Leaf i is the i-th event in `seq` order; its input is the ASCII text "<seq>:<event hash>", so the
tree binds each event's number as well as its content. Hashes are SHA-256:

    leaf hash  = SHA-256(0x00 || "<seq>:<hash>")
    node hash  = SHA-256(0x01 || left || right)
    MTH(n)     = for n > 1, the node of MTH(first k leaves) and MTH(the rest), k the largest power
                 of two below n; MTH of one leaf is its leaf hash; MTH of no leaf is SHA-256("").

A `Frontier` keeps only the roots of the perfect subtrees along the right edge (at most log2 n
hashes), so a checkpoint extends the tree with the new events without reading the old ones.
"""

from collections.abc import Iterable, Iterator
from hashlib import sha256

EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(seq: int, event_hash: str) -> bytes:
    return sha256(b"\x00" + f"{seq}:{event_hash}".encode("ascii")).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


class Frontier:
    """The right edge of a growing RFC 6962 tree: (height, hash) of each perfect subtree, left to
    right, heights strictly decreasing (the binary digits of the tree size)."""

    __slots__ = ("size", "subtrees")

    def __init__(self, size: int = 0, subtrees: list[tuple[int, bytes]] | None = None) -> None:
        self.size = size
        self.subtrees = list(subtrees or [])
        if sum(1 << height for height, _ in self.subtrees) != size:
            raise ValueError("the frontier does not describe a tree of this size")

    def append(self, leaf: bytes) -> None:
        subtrees = self.subtrees
        height, value = 0, leaf
        # Merging equal heights is binary addition of one: it never combines across a gap.
        while subtrees and subtrees[-1][0] == height:
            _, left = subtrees.pop()
            value = node_hash(left, value)
            height += 1
        subtrees.append((height, value))
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self.subtrees:
            return EMPTY_ROOT
        value = self.subtrees[-1][1]
        for _, left in reversed(self.subtrees[:-1]):
            value = node_hash(left, value)
        return value

    def to_json(self) -> list[list]:
        return [[height, value.hex()] for height, value in self.subtrees]

    @classmethod
    def from_json(cls, size: int, rows: list[list]) -> "Frontier":
        return cls(size, [(int(height), bytes.fromhex(value)) for height, value in rows])


def tree_root(leaves: Iterable[bytes]) -> bytes:
    frontier = Frontier()
    frontier.extend(leaves)
    return frontier.root()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [start, end) whose subtree hashes form the audit path of leaf `index` in a
    tree of `size` leaves, from the leaf upwards (RFC 6962 section 2.1.1)."""
    if not 0 <= index < size:
        raise ValueError("the leaf is not in the tree")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start = start + k
    ranges.reverse()
    return ranges


def inclusion_path(index: int, size: int, leaves: Iterator[bytes]) -> list[bytes]:
    """The audit path of leaf `index`, reading the tree's leaves once, in order."""
    ranges = inclusion_ranges(index, size)
    frontiers = [Frontier() for _ in ranges]
    by_start = sorted(range(len(ranges)), key=lambda i: ranges[i][0])
    position = 0
    for slot in by_start:
        start, end = ranges[slot]
        while position < start:
            next(leaves)
            position += 1
        while position < end:
            frontiers[slot].append(next(leaves))
            position += 1
    return [frontier.root() for frontier in frontiers]


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """The root that leaf `index` and its audit path imply (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size:
        raise ValueError("the leaf is not in the tree")
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
