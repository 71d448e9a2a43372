"""The services' values as Phoenix JSON: field names as the original API's, decimals as
strings in the currency's places, times as ISO 8601 UTC with a `Z` (as Ecto encodes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any, TypeVar

from bitnexus.accounts import User
from bitnexus.catalog import Product
from bitnexus.common.pagination import Page
from bitnexus.common.timestamps import iso
from bitnexus.ledger import Block, ChainReport, Checkpoint, Posting, Proof, Transaction

T = TypeVar("T")
Json = dict[str, Any]


def decimal(value: Decimal) -> str:
    """Fixed-point, keeping the value's places: Decimal("19.90") is "19.90", never "19.9"
    or an exponent."""
    text = str(value)  # plain notation, a third of format's cost, unless it has an exponent
    return format(value, "f") if "E" in text else text


def user(value: User) -> Json:
    return {
        "id": value.id,
        "email": value.email,
        "name": value.name,
        "role": value.role,
        "inserted_at": iso(value.inserted_at),
        "updated_at": iso(value.updated_at),
    }


def product(value: Product) -> Json:
    return {
        "id": value.id,
        "name": value.name,
        "description": value.description,
        "category": value.category,
        "price": decimal(value.price),
        "currency": value.currency,
        "commission_rate": decimal(value.commission_rate),
        "status": value.status,
        "created_by": value.created_by,
        "inserted_at": iso(value.inserted_at),
        "updated_at": iso(value.updated_at),
    }


def transaction(value: Transaction) -> Json:
    return {
        "id": value.id,
        "kind": value.kind,
        "status": value.status,
        "amount": decimal(value.amount),
        "currency": value.currency,
        "user_id": value.user_id,
        "recipient_id": value.recipient_id,
        "product_id": value.product_id,
        "affiliate_id": value.affiliate_id,
        "description": value.description,
        "idempotency_key": value.idempotency_key,
        "postings": [posting(p) for p in value.postings],
        "block_index": value.block_index,
        "hash": value.hash,
        "inserted_at": iso(value.inserted_at),
    }


def posting(value: Posting) -> Json:
    """A posting; in a history, with its transaction."""
    rendered = {
        "account": value.account,
        "user_id": value.user_id,
        "currency": value.currency,
        "amount": decimal(value.amount),
        "balance_after": None if value.balance_after is None else decimal(value.balance_after),
    }
    if value.transaction is not None:
        rendered["transaction"] = transaction(value.transaction)
    return rendered


def block_header(value: Block) -> Json:
    return {
        "index": value.index,
        "previous_hash": value.previous_hash,
        "merkle_root": value.merkle_root,
        "timestamp": iso(value.timestamp),
        "transaction_count": value.transaction_count,
        "hash": value.hash,
    }


def block(value: Block) -> Json:
    return block_header(value) | {"transactions": [transaction(t) for t in value.transactions]}


def proof(value: Proof) -> Json:
    return {
        "transaction_id": value.transaction_id,
        "verdict": "valid" if value.valid else "invalid",
        "problems": list(value.problems),
        "transaction_hash": value.transaction_hash,
        "computed_hash": value.computed_hash,
        "merkle_proof": [dict(step) for step in value.merkle_proof],
        "block": block_header(value.block),
        "head_index": value.head_index,
        "checkpoint": None if value.checkpoint is None else checkpoint(value.checkpoint),
    }


def checkpoint(value: Checkpoint) -> Json:
    return asdict(value)


def checkpoints(public_key: str, values: Iterable[Checkpoint]) -> Json:
    """What an auditor keeps: the key and every checkpoint (`ledger verify --from-checkpoint`)."""
    return {"public_key": public_key, "checkpoints": [checkpoint(v) for v in values]}


def chain_report(value: ChainReport) -> Json:
    return {
        "valid": value.valid,
        "head": value.head,
        "blocks_checked": value.blocks_checked,
        "first_bad_block": value.first_bad_block,
        "reason": value.reason,
        "unchained_rows": list(value.unchained_rows),
        "balance_mismatches": [asdict(m) for m in value.balance_mismatches],
    }


def balances(value: Mapping[str, Decimal]) -> list[Json]:
    return [{"currency": code, "balance": decimal(amount)} for code, amount in value.items()]


def page(value: Page[T], item: Callable[[T], Json]) -> Json:
    """`{"data": [...], "meta": {"next": cursor}}`."""
    return {"data": [item(i) for i in value.items], "meta": {"next": value.next_cursor}}
