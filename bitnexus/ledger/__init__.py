"""Ledger: the hash-chained double-entry ledger and the transaction requests it posts."""

from bitnexus.ledger import checkpoints, degraded, metrics, postings
from bitnexus.ledger.limits import Limit, limit_of
from bitnexus.ledger.postgres import Notice
from bitnexus.ledger.queries import (
    balances,
    block_transactions,
    find_by_key,
    get_block,
    get_transaction,
    head_index,
    history,
    list_transactions,
    refuse_nonzero_balances,
)
from bitnexus.ledger.requests import DESCRIPTION_MAX, KEY_MAX, REQUIRED, Request, cast_request
from bitnexus.ledger.schema import TRANSACTION_KINDS
from bitnexus.ledger.store import (
    KEY_REUSED,
    Entry,
    Prepared,
    ensure_genesis,
    is_retryable,
    prepare,
    record,
)
from bitnexus.ledger.values import (
    BalanceMismatch,
    Block,
    ChainReport,
    Checkpoint,
    Posting,
    Proof,
    Transaction,
)
from bitnexus.ledger.verify import verify_chain, verify_tail, verify_transaction

__all__ = [
    "DESCRIPTION_MAX",
    "KEY_MAX",
    "KEY_REUSED",
    "REQUIRED",
    "TRANSACTION_KINDS",
    "BalanceMismatch",
    "Block",
    "ChainReport",
    "Checkpoint",
    "Entry",
    "Limit",
    "Notice",
    "Posting",
    "Prepared",
    "Proof",
    "Request",
    "Transaction",
    "balances",
    "block_transactions",
    "cast_request",
    "checkpoints",
    "degraded",
    "ensure_genesis",
    "find_by_key",
    "get_block",
    "get_transaction",
    "head_index",
    "history",
    "is_retryable",
    "limit_of",
    "list_transactions",
    "metrics",
    "postings",
    "prepare",
    "record",
    "refuse_nonzero_balances",
    "verify_chain",
    "verify_tail",
    "verify_transaction",
]
