"""The Merkle tree is RFC 6962's: the incremental frontier agrees with the recursive definition,
and every inclusion proof leads back to the root."""

import hashlib

import pytest

from approvals.evidence.merkle import (
    EMPTY_ROOT,
    Frontier,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    tree_root,
)


def mth(leaves):
    """RFC 6962 section 2.1, word for word."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


LEAVES = [leaf_hash(seq, hashlib.sha256(str(seq).encode()).hexdigest()) for seq in range(1, 70)]


def test_a_leaf_is_the_prefixed_hash_of_its_number_and_event_hash():
    assert leaf_hash(7, "ab") == hashlib.sha256(b"\x00" + b"7:ab").digest()
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()
    assert tree_root([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(0, 70))
def test_the_frontier_root_is_the_rfc_6962_root_at_every_size(size):
    assert tree_root(LEAVES[:size]) == mth(LEAVES[:size])


def test_a_frontier_resumes_from_its_saved_form():
    frontier = Frontier()
    frontier.extend(LEAVES[:37])
    resumed = Frontier.from_json(37, frontier.to_json())
    resumed.extend(LEAVES[37:])
    assert resumed.root() == mth(LEAVES)
    with pytest.raises(ValueError):
        Frontier.from_json(36, frontier.to_json())


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 31, 32, 33, 69])
def test_every_inclusion_proof_leads_to_the_root_and_no_other_leaf_fits(size):
    root = mth(LEAVES[:size])
    for index in range(size):
        path = inclusion_path(index, size, iter(LEAVES[:size]))
        assert root_from_inclusion(index, size, LEAVES[index], path) == root
        other = LEAVES[(index + 1) % size] if size > 1 else leaf_hash(0, "x")
        assert root_from_inclusion(index, size, other, path) != root or other == LEAVES[index]


def test_a_proof_of_the_wrong_length_is_refused():
    path = inclusion_path(3, 8, iter(LEAVES[:8]))
    with pytest.raises(ValueError):
        root_from_inclusion(3, 8, LEAVES[3], path[:-1])
    with pytest.raises(ValueError):
        root_from_inclusion(3, 8, LEAVES[3], [*path, path[0]])
