"""The ledger's Prometheus metrics, recorded by the ledger itself after each commit.

The one source of these numbers (web/ only exposes them). Under gunicorn, `bitnexus
serve` sets PROMETHEUS_MULTIPROC_DIR before prometheus_client is imported, so every
worker's ledger writes to the shared directory and `/metrics` sums them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from bitnexus.ledger.values import Checkpoint, Transaction

TRANSACTIONS = Counter(
    "bitnexus_ledger_transactions_total",
    "Transactions posted to the ledger (replays not counted)",
    ["kind", "currency"],
)
BLOCK_SIZE = Histogram(
    "bitnexus_ledger_block_size",
    "Transactions per block appended",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
COMMIT_SECONDS = Histogram(
    "bitnexus_ledger_commit_seconds",
    "Time to append one block, from taking the head lock to the commit",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


HEAD_INDEX = Gauge(
    "bitnexus_ledger_head_index",
    "Index of the chain's last block, as this server's ledger last saw it",
    multiprocess_mode="max",
)
CHECKPOINT_TIMESTAMP = Gauge(
    "bitnexus_ledger_checkpoint_timestamp_seconds",
    "When the newest ledger checkpoint was taken (Unix time); age = time() - this",
    multiprocess_mode="max",
)


def observe_head(index: int | None) -> None:
    """The chain's head as read at start (commits update it in `observe_commit`)."""
    if index is not None:
        HEAD_INDEX.set(index)


def observe_checkpoint(checkpoint: Checkpoint | None) -> None:
    """The newest checkpoint, as read at start and as each new one is signed: its age
    counts from when it was signed, whichever process signed it."""
    if checkpoint is not None:
        signed = dt.datetime.fromisoformat(checkpoint.signed_at)
        CHECKPOINT_TIMESTAMP.set(signed.timestamp())


def observe_commit(outcomes: Iterable[object], seconds: float) -> None:
    """Count a committed batch: its new transactions, the block's size, the time taken.

    ``outcomes`` are the store's, one per entry: a refusal or a replay posted nothing, and
    a batch that posted nothing wrote no block.
    """
    posted = [o for o in outcomes if isinstance(o, Transaction) and not o.replayed]
    if not posted:
        return
    for tx in posted:
        TRANSACTIONS.labels(tx.kind, tx.currency).inc()
    BLOCK_SIZE.observe(len(posted))
    COMMIT_SECONDS.observe(seconds)
    HEAD_INDEX.set(max(tx.block_index for tx in posted))
