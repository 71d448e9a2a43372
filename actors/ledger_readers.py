"""The ledger's readers (registered name `ledger_readers`, a pool): every ledger read.

History, balances, blocks, proofs and the full chain walk are answered here, each in a
snapshot of its own (REPEATABLE READ on PostgreSQL, a deferred read transaction on
SQLite's WAL; a read of one statement, balances, is one snapshot by itself, without BEGIN
and COMMIT round trips): plain reads that take no lock, so they never wait for the block the
writer (`actors/ledger.py`) is appending. A long `verify_chain` runs in a child process,
so its hashing holds up neither the writer nor the other readers. A chain walk that
finds damage records it, and every writer then refuses to append (degraded) until repaired.
The ledger's client functions (`actors.ledger.get_history`, …) call here.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from actors.errors import NotFound
from actors.service import (
    Service,
    database_outage_as_unavailable,
    read,
    read_one,
    require_id,
)
from bitnexus import ledger as journal
from bitnexus.config import Config
from bitnexus.database.engine import make_engine, snapshot
from bitnexus.database.held import HeldReads
from bitnexus.ledger import ChainReport, degraded
from supervisors import cast

NAME = "ledger_readers"
WRITER = "ledger"  # actors.ledger.NAME, told when a walk finds the chain damaged
# From this many blocks on, verify_chain walks in a process of its own: starting one costs
# about a second, a walk of 1,000 blocks of 100 transactions some seconds.
WALK_ELSEWHERE_BLOCKS = 1_000
WALKER_NICENESS = 19  # the walk is an operator's check: it gets the CPU nobody else wants


@dataclass(frozen=True)
class GetTransaction:
    id: int


@dataclass(frozen=True)
class History:
    """The user's postings, newest first; ``limit`` (<= 100) and ``cursor`` as in pages."""

    user_id: int
    currency: str | None = None
    limit: object = None
    cursor: object = None


@dataclass(frozen=True)
class Balances:
    user_id: int


@dataclass(frozen=True)
class GetBlock:
    index: int


@dataclass(frozen=True)
class BlockTransactions:
    """A block's transactions with their postings, without its header."""

    index: int


@dataclass(frozen=True)
class Verify:
    """The proof of one transaction, from its content up to the head, and a verdict."""

    transaction_id: int


@dataclass(frozen=True)
class VerifyChain:
    """Every block from genesis, and every balance against its postings."""


@dataclass(frozen=True)
class Degraded:
    """To the writer: a walk has recorded the chain as damaged; refuse to append."""


class LedgerReader(Service):
    """Stateless between messages: any member of the pool can take any read."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._places = config.currencies
        self._reads = HeldReads(engine)  # balances: read on every balances request

    def terminate(self) -> None:
        self._reads.close()

    def handle(self, message: object) -> object:
        engine, places, reads = self._engine, self._places, self._reads.reading
        match message:
            case GetTransaction(id=transaction_id):
                tx_id = require_id(transaction_id, "transaction")
                return _found(read(engine, journal.get_transaction, tx_id, places))
            case History(user_id=user_id, currency=currency, limit=limit, cursor=cursor):
                return read(
                    engine,
                    journal.history,
                    require_id(user_id, "user"),
                    places,
                    currency=currency,
                    limit=limit,
                    cursor=cursor,
                )
            case Balances(user_id=user_id):
                return read_one(reads, journal.balances, require_id(user_id, "user"), places)
            case GetBlock(index=index):
                return _found(read(engine, journal.get_block, _block_index(index), places))
            case BlockTransactions(index=index):
                found = read_one(reads, journal.block_transactions, _block_index(index), places)
                return _found(found or None)  # a committed block posts at least one
            case Verify(transaction_id=transaction_id):
                tx_id = require_id(transaction_id, "transaction")
                return _found(read(engine, journal.verify_transaction, tx_id))
            case VerifyChain():
                report = self._verify_chain()
                if not report.valid:
                    # Recorded before the reply, so that a write which follows it is refused
                    # on every process, not only once some writer gets round to it.
                    with database_outage_as_unavailable():
                        degraded.mark(engine, f"chain does not verify: {report.summary()}")
                    cast(WRITER, Degraded())
                return report
        return super().handle(message)

    def _verify_chain(self) -> ChainReport:
        """The walk; a long one in a process of its own, where its hashing (pure Python,
        holding the GIL) does not slow this process's writer and request threads."""
        url = self._engine.url
        on_disk = url.database not in (None, "", ":memory:")  # a child can open it too
        shared = on_disk or url.get_backend_name() == "postgresql"
        if not shared or (read(self._engine, journal.head_index) or 0) < WALK_ELSEWHERE_BLOCKS:
            return read(self._engine, journal.verify_chain)
        context = multiprocessing.get_context("spawn")  # never fork a threaded process
        with (
            database_outage_as_unavailable(),
            ProcessPoolExecutor(1, mp_context=context) as walker,
        ):
            return walker.submit(walk_chain, url.render_as_string(hide_password=False)).result()


def walk_chain(database_url: str) -> ChainReport:
    """verify_chain in one snapshot, from a process of its own (the walker's entry point)."""
    os.nice(WALKER_NICENESS)  # the writer and the database come first for the CPU
    engine = make_engine(Config.from_env({"BITNEXUS_DATABASE_URL": database_url}))
    try:
        with snapshot(engine) as conn:
            return journal.verify_chain(conn)
    finally:
        engine.dispose()


def _block_index(value: object) -> int:
    if type(value) is not int or value < 0:
        raise NotFound(f"block {value!r}")
    return value


def _found(value: Any) -> Any:
    if value is None:
        raise NotFound("ledger record")
    return value
