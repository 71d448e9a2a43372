"""SHA-256 Merkle trees over hex digests, with inclusion proofs.

Interior nodes hash ``0x01 || left || right`` (raw digests), which can never equal the
canonical JSON a leaf digest is taken over. A node without a sibling moves up unchanged,
so no leaf is ever duplicated (the CVE-2012-2459 ambiguity of Bitcoin's tree).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()

ProofStep = dict[str, str]  # {"side": "left" | "right", "hash": hex digest of the sibling}


def merkle_root(leaves: Sequence[str]) -> str:
    """Root of the tree over ``leaves``; ``EMPTY_ROOT`` for no leaves."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        level = _parents(level)
    return level[0]


def merkle_proof(leaves: Sequence[str], index: int) -> list[ProofStep]:
    """Siblings on the path from ``leaves[index]`` up to the root, bottom first."""
    if not 0 <= index < len(leaves):
        raise IndexError(index)
    proof: list[ProofStep] = []
    level = list(leaves)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            side = "left" if sibling < index else "right"
            proof.append({"side": side, "hash": level[sibling]})
        level = _parents(level)
        index //= 2
    return proof


def root_from_proof(leaf: str, proof: Sequence[ProofStep]) -> str:
    """The root implied by ``leaf`` and its proof: compare it with the block's root."""
    node = leaf
    for step in proof:
        left, right = (step["hash"], node) if step["side"] == "left" else (node, step["hash"])
        node = _node(left, right)
    return node


def _parents(level: list[str]) -> list[str]:
    parents = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        parents.append(level[-1])
    return parents


def _node(left: str, right: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()
