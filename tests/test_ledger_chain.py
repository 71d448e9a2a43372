"""Canonical encoding, transaction and block digests, Merkle trees and their proofs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitnexus.ledger.hashing import (
    BLOCK_FIELDS,
    POSTING_FIELDS,
    TRANSACTION_FIELDS,
    block_hash,
    canonical,
    transaction_hash,
)
from bitnexus.ledger.merkle import EMPTY_ROOT, merkle_proof, merkle_root, root_from_proof

digests = st.binary(min_size=32, max_size=32).map(bytes.hex)


def test_canonical_encoding_is_key_order_independent_and_compact():
    assert canonical({"b": 1, "a": [None, "é"]}) == canonical({"a": [None, "é"], "b": 1})
    assert canonical({"b": 1, "a": [None, "é"]}) == '{"a":[null,"é"],"b":1}'.encode()


@pytest.mark.parametrize("value", [1.5, {1: "x"}, b"bytes", {"a": {2.0}}])
def test_canonical_encoding_refuses_ambiguous_values(value):
    with pytest.raises(TypeError):
        canonical(value)


def _transaction(**changes):
    tx = {
        "id": 1,
        "kind": "transfer",
        "amount": 150,
        "currency": "EUR",
        "user_id": 1,
        "recipient_id": 2,
        "product_id": None,
        "affiliate_id": None,
        "description": None,
        "idempotency_key": "k",
        "inserted_at": "2026-01-01T00:00:00Z",
    }
    return tx | changes


POSTINGS = [
    {"user_id": 1, "currency": "EUR", "amount": -150, "balance_after": 0},
    {"user_id": 2, "currency": "EUR", "amount": 150, "balance_after": 150},
]


CHANGED = {  # a different value for every field of the transaction, and of a posting
    "id": 2,
    "kind": "deposit",
    "amount": 151,
    "currency": "USD",
    "user_id": 3,
    "recipient_id": None,
    "product_id": 7,
    "affiliate_id": 8,
    "description": "",
    "idempotency_key": "other",
    "inserted_at": "2026-01-01T00:00:01Z",
}
POSTING_CHANGED = {"user_id": 3, "currency": "USD", "amount": 149, "balance_after": 151}


def test_the_fields_tested_are_the_fields_hashed():
    assert set(CHANGED) == set(TRANSACTION_FIELDS) == set(_transaction())
    assert set(POSTING_CHANGED) == set(POSTING_FIELDS) == set(POSTINGS[1])


@pytest.mark.parametrize("field", sorted(CHANGED))
def test_transaction_hash_covers_every_field(field):
    base = transaction_hash(_transaction(), POSTINGS)
    assert transaction_hash(_transaction(**{field: CHANGED[field]}), POSTINGS) != base


@pytest.mark.parametrize("field", sorted(POSTING_CHANGED))
def test_transaction_hash_covers_every_posting_field_and_the_order(field):
    base = transaction_hash(_transaction(), POSTINGS)
    tampered = [POSTINGS[0], POSTINGS[1] | {field: POSTING_CHANGED[field]}]
    assert transaction_hash(_transaction(), tampered) != base
    assert transaction_hash(_transaction(), POSTINGS[::-1]) != base


BLOCK = {
    "index": 1,
    "previous_hash": "0" * 64,
    "merkle_root": EMPTY_ROOT,
    "timestamp": "2026-01-01T00:00:00Z",
    "transaction_count": 0,
}
BLOCK_CHANGED = {
    "index": 2,
    "previous_hash": "1" * 64,
    "merkle_root": "2" * 64,
    "timestamp": "2026-01-01T00:00:01Z",
    "transaction_count": 1,
}


def test_block_hash_ignores_the_stored_hash_itself():
    assert set(BLOCK) == set(BLOCK_CHANGED) == set(BLOCK_FIELDS)
    assert block_hash(BLOCK) == block_hash(BLOCK | {"hash": "anything"})


@pytest.mark.parametrize("field", sorted(BLOCK_CHANGED))
def test_block_hash_covers_every_field(field):
    assert block_hash(BLOCK) != block_hash(BLOCK | {field: BLOCK_CHANGED[field]})


def test_merkle_root_of_small_trees():
    a, b, c = (hashlib.sha256(x).hexdigest() for x in (b"a", b"b", b"c"))
    ab = hashlib.sha256(b"\x01" + bytes.fromhex(a) + bytes.fromhex(b)).hexdigest()
    assert merkle_root([]) == EMPTY_ROOT
    assert merkle_root([a]) == a
    assert merkle_root([a, b]) == ab
    # An odd node moves up unchanged rather than being paired with itself.
    assert (
        merkle_root([a, b, c])
        == hashlib.sha256(b"\x01" + bytes.fromhex(ab) + bytes.fromhex(c)).hexdigest()
    )


@given(st.lists(digests, min_size=1, max_size=40), st.data())
def test_every_leaf_proves_its_inclusion(leaves, data):
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = merkle_proof(leaves, index)
    assert root_from_proof(leaves[index], proof) == merkle_root(leaves)
    assert len(proof) <= max(1, len(leaves)).bit_length()


@given(st.lists(digests, min_size=2, max_size=40, unique=True), st.data())
def test_a_proof_fails_for_another_leaf(leaves, data):
    index = data.draw(st.integers(0, len(leaves) - 1))
    other = data.draw(st.integers(0, len(leaves) - 1).filter(lambda i: i != index))
    proof = merkle_proof(leaves, index)
    assert root_from_proof(leaves[other], proof) != merkle_root(leaves)
