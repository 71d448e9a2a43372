"""Canonical encoding and SHA-256 digests of ledger transactions and blocks.

The encoding is JSON with sorted keys, no whitespace and UTF-8 text; only strings,
integers, booleans, None, lists and string-keyed dicts are allowed, so one value has
exactly one encoding (money is always integer minor units, never a float).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

TRANSACTION_FIELDS = (
    "id",
    "kind",
    "amount",
    "currency",
    "user_id",
    "recipient_id",
    "product_id",
    "affiliate_id",
    "description",
    "idempotency_key",
    "inserted_at",
)
POSTING_FIELDS = ("user_id", "currency", "amount", "balance_after")
BLOCK_FIELDS = ("index", "previous_hash", "merkle_root", "timestamp", "transaction_count")


# One encoder for every call: json.dumps with options builds a new one each time.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_SCALARS = frozenset({str, int, bool, type(None)})


def canonical(value: object) -> bytes:
    """The one byte encoding of ``value``."""
    _check(value)
    return _ENCODER.encode(value).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def transaction_hash(transaction: Mapping[str, object], postings: Sequence[Mapping]) -> str:
    """Digest of a transaction's full content, its postings in order included."""
    content = {field: transaction[field] for field in TRANSACTION_FIELDS}
    content["postings"] = [{field: p[field] for field in POSTING_FIELDS} for p in postings]
    return sha256_hex(canonical(content))


def block_hash(block: Mapping[str, object]) -> str:
    """Digest of a block header (every field but the hash itself)."""
    return sha256_hex(canonical({field: block[field] for field in BLOCK_FIELDS}))


def _check(value: object) -> None:
    # Floats have several textual forms and lose precision: refuse them outright.
    if type(value) in _SCALARS or isinstance(value, str | int):  # exact types first: cheap
        return
    if isinstance(value, list | tuple):
        for item in value:
            if type(item) not in _SCALARS:
                _check(item)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"canonical encoding needs string keys, got {key!r}")
            if type(item) not in _SCALARS:
                _check(item)
        return
    raise TypeError(f"no canonical encoding for {type(value).__name__}")
