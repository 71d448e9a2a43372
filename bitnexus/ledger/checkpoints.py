"""Signed checkpoints: the chain's head (index, hash, time) signed with an Ed25519 key
that is not in the database.

Whoever rewrites the chain and recomputes every hash, or cuts off its last blocks, still
cannot produce a checkpoint the public key accepts for the new history: an auditor who
kept earlier checkpoints (`GET /api/v1/ledger/checkpoints`) finds the difference with
`bitnexus ledger verify --from-checkpoint FILE`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from bitnexus.common.timestamps import iso
from bitnexus.database.schema import utcnow
from bitnexus.ledger.hashing import canonical
from bitnexus.ledger.schema import ledger_blocks, ledger_checkpoints, ledger_head
from bitnexus.ledger.values import Checkpoint

ALGORITHM = "Ed25519"


def load_key(seed_hex: str) -> Ed25519PrivateKey:
    """The private key from its 32-byte seed in hex (BITNEXUS_LEDGER_SIGNING_KEY)."""
    seed = bytes.fromhex(seed_hex.strip())
    if len(seed) != 32:
        raise ValueError("an Ed25519 seed is 32 bytes (64 hex digits)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def message(index: int, block_hash: str, signed_at: str) -> bytes:
    """What is signed: the canonical encoding of the head's index, hash and the time."""
    return canonical({"index": index, "hash": block_hash, "signed_at": signed_at})


def due(head: int, last: int | None, every: int) -> bool:
    """Whether block ``head`` is to be signed: ``every`` blocks past the last checkpoint."""
    return head - (last or 0) >= every


def sign_head(engine: Engine, key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the current head and store it (once per block index); the checkpoint."""
    with engine.begin() as conn:
        head = conn.execute(sa.select(ledger_head.c.block_index)).scalar_one()
        block_hash = conn.execute(
            sa.select(ledger_blocks.c.hash).where(ledger_blocks.c.index == head)
        ).scalar_one()
        now = utcnow()
        signature = key.sign(message(head, block_hash, iso(now))).hex()
        row = {
            "block_index": head,
            "block_hash": block_hash,
            "signed_at": now,
            "public_key": public_hex(key),
            "signature": signature,
        }
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(insert(ledger_checkpoints).values(row).on_conflict_do_nothing())
        stored = conn.execute(
            sa.select(ledger_checkpoints).where(ledger_checkpoints.c.block_index == head)
        )
        return to_checkpoint(stored.mappings().one())


def to_checkpoint(row: Mapping[str, Any]) -> Checkpoint:
    return Checkpoint(
        index=row["block_index"],
        hash=row["block_hash"],
        signed_at=iso(row["signed_at"]),
        public_key=row["public_key"],
        signature=row["signature"],
    )


def all_checkpoints(conn: Connection) -> list[Checkpoint]:
    query = sa.select(ledger_checkpoints).order_by(ledger_checkpoints.c.block_index)
    return [to_checkpoint(row) for row in conn.execute(query).mappings()]


def last(conn: Connection) -> Checkpoint | None:
    """The newest checkpoint (of the highest block index), or None before the first."""
    query = sa.select(ledger_checkpoints).order_by(ledger_checkpoints.c.block_index.desc())
    row = conn.execute(query.limit(1)).mappings().first()
    return None if row is None else to_checkpoint(row)


def next_checkpoint(conn: Connection, index: int) -> Checkpoint | None:
    """The first checkpoint at or after block ``index``."""
    query = (
        sa.select(ledger_checkpoints)
        .where(ledger_checkpoints.c.block_index >= index)
        .order_by(ledger_checkpoints.c.block_index)
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else to_checkpoint(row)


def from_json(value: Mapping[str, Any]) -> Checkpoint:
    """A checkpoint as `GET /api/v1/ledger/checkpoints` publishes it; ValueError if not."""
    try:
        return Checkpoint(
            index=int(value["index"]),
            hash=str(value["hash"]),
            signed_at=str(value["signed_at"]),
            public_key=str(value["public_key"]),
            signature=str(value["signature"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a checkpoint: {value!r:.200}") from exc


def signature_valid(checkpoint: Checkpoint, public_key: str) -> bool:
    """Whether ``public_key`` (hex) signed ``checkpoint``."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
        key.verify(
            bytes.fromhex(checkpoint.signature),
            message(checkpoint.index, checkpoint.hash, checkpoint.signed_at),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def against_chain(
    conn: Connection, checkpoints: Iterable[Checkpoint], public_key: str
) -> list[str]:
    """Why checkpoints an auditor kept do not match the chain now (empty: they all do)."""
    problems = []
    head = conn.execute(sa.select(ledger_head.c.block_index)).scalar_one()
    for cp in checkpoints:
        index = cp.index
        if not signature_valid(cp, public_key):
            problems.append(f"checkpoint {index}: signature does not verify")
            continue
        if index > head:
            problems.append(f"checkpoint {index}: beyond the head (block {head}): blocks cut off")
            continue
        stored = conn.execute(
            sa.select(ledger_blocks.c.hash).where(ledger_blocks.c.index == index)
        ).scalar()
        if stored != cp.hash:
            problems.append(f"checkpoint {index}: block hash differs: the chain was rewritten")
    return problems
