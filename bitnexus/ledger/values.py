"""What the ledger answers with: immutable values, amounts as `Decimal` in the currency's
places, times as aware UTC `datetime`s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

STATUS = "posted"  # every recorded transaction is posted: the ledger never holds drafts


@dataclass(frozen=True)
class Posting:
    """One signed amount on a wallet (or the world's account, ``user_id`` None).

    In a user's history the posting carries its ``transaction``.
    """

    user_id: int | None
    currency: str
    amount: Decimal
    balance_after: Decimal | None  # None: not shown to this viewer (another's wallet)
    transaction: Transaction | None = None

    @property
    def account(self) -> str:
        return "world" if self.user_id is None else "wallet"


@dataclass(frozen=True)
class Transaction:
    """A recorded transaction. ``replayed`` marks the original answer to a retried request
    (the same idempotency key and request); it is not part of the record."""

    id: int
    kind: str
    amount: Decimal
    currency: str
    user_id: int
    recipient_id: int | None
    product_id: int | None
    affiliate_id: int | None
    description: str | None
    idempotency_key: str | None
    postings: tuple[Posting, ...]
    block_index: int
    hash: str
    inserted_at: dt.datetime
    replayed: bool = False

    @property
    def status(self) -> str:
        return STATUS

    @property
    def parties(self) -> frozenset[int]:
        """The initiator, the named parties, and every wallet the postings touch."""
        named = {self.user_id, self.recipient_id, self.affiliate_id}
        named |= {p.user_id for p in self.postings}
        return frozenset(party for party in named if party is not None)


@dataclass(frozen=True)
class Block:
    """A block's header, its hash, and (when read whole) its transactions in Merkle order."""

    index: int
    previous_hash: str
    merkle_root: str
    timestamp: dt.datetime
    transaction_count: int
    hash: str
    transactions: tuple[Transaction, ...] = ()


@dataclass(frozen=True)
class Checkpoint:
    """The head at block ``index`` (its ``hash``) signed at ``signed_at`` (ISO 8601 text,
    as signed) with the Ed25519 key whose raw public key is ``public_key`` (hex)."""

    index: int
    hash: str
    signed_at: str
    public_key: str
    signature: str


@dataclass(frozen=True)
class Proof:
    """A transaction's inclusion proof up to the next signed checkpoint (or the head),
    and what did not check out."""

    transaction_id: int
    problems: tuple[str, ...]
    transaction_hash: str
    computed_hash: str
    merkle_proof: tuple[Mapping[str, str], ...]
    block: Block
    head_index: int
    checkpoint: Checkpoint | None = None

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class BalanceMismatch:
    """An account whose stored balance (minor units) is not the sum of its postings."""

    id: int
    user_id: int | None
    currency: str
    balance: int
    postings_sum: int


@dataclass(frozen=True)
class ChainReport:
    """The whole chain from genesis, every row of every ledger table accounted for, and
    every balance against its chained postings."""

    head: int
    blocks_checked: int
    first_bad_block: int | None
    reason: str | None
    balance_mismatches: tuple[BalanceMismatch, ...]
    unchained_rows: tuple[str, ...] = ()  # e.g. "1 posting(s) in no chained transaction"

    @property
    def valid(self) -> bool:
        return self.reason is None and not self.unchained_rows and not self.balance_mismatches

    def summary(self) -> str:
        """Why the chain does not verify, in one line."""
        if self.reason is not None:
            return self.reason
        if self.unchained_rows:
            return "; ".join(self.unchained_rows)
        return f"{len(self.balance_mismatches)} balance(s) differ from their postings"
