"""The ledger's readers (registered name `ledger_readers`, a pool): every ledger read.

History, balances, blocks, proofs and the full chain walk are answered here, each in a
snapshot of its own (REPEATABLE READ on PostgreSQL, a deferred read transaction on
SQLite's WAL): plain reads that take no lock, so they never wait for the block the
writer (`actors/ledger.py`) is appending. A long `verify_chain` runs in a child process,
so its hashing holds up neither the writer nor the other readers. A chain walk that
finds damage tells the writer, which then refuses to append (degraded) until repaired.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from actors import ledger
from actors.errors import NotFound
from actors.service import database_outage_as_unavailable, require_id
from bitnexus.config import Config
from bitnexus.database.engine import make_engine
from bitnexus.ledger import queries
from bitnexus.ledger.schema import ledger_head
from bitnexus.ledger.verify import verify_chain, verify_transaction
from supervisors import Worker, cast

NAME = "ledger_readers"
# From this many blocks on, verify_chain walks in a process of its own: starting one costs
# about a second, a walk of 1,000 blocks of 100 transactions some seconds.
WALK_ELSEWHERE_BLOCKS = 1_000


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
class Verify:
    """The proof of one transaction, from its content up to the head, and a verdict."""

    transaction_id: int


@dataclass(frozen=True)
class VerifyChain:
    """Every block from genesis, and every balance against its postings."""


class LedgerReader(Worker):
    """Stateless between messages: any member of the pool can take any read."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._places = config.currencies

    def handle(self, message: object) -> object:
        match message:
            case GetTransaction(id=transaction_id):
                return _found(
                    self._read(
                        queries.get_transaction,
                        require_id(transaction_id, "transaction"),
                        self._places,
                    )
                )
            case History(user_id=user_id, currency=currency, limit=limit, cursor=cursor):
                return self._read(
                    queries.history,
                    require_id(user_id, "user"),
                    self._places,
                    currency=currency,
                    limit=limit,
                    cursor=cursor,
                )
            case Balances(user_id=user_id):
                return self._read(queries.balances, require_id(user_id, "user"), self._places)
            case GetBlock(index=index):
                return _found(self._read(queries.get_block, _block_index(index), self._places))
            case Verify(transaction_id=transaction_id):
                return _found(
                    self._read(verify_transaction, require_id(transaction_id, "transaction"))
                )
            case VerifyChain():
                report = self._verify_chain()
                if not report["valid"]:
                    # Before the reply: a write that follows it finds the writer degraded.
                    cast(ledger.NAME, ledger.Degrade(f"chain does not verify: {_summary(report)}"))
                return report
        return super().handle(message)

    def _verify_chain(self) -> dict[str, Any]:
        """The walk; a long one in a process of its own, where its hashing (pure Python,
        holding the GIL) does not slow this process's writer and request threads."""
        url = self._engine.url
        on_disk = url.database not in (None, "", ":memory:")  # a child can open it too
        if (
            not (on_disk or url.get_backend_name() == "postgresql")
            or self._read(_head) < WALK_ELSEWHERE_BLOCKS
        ):
            return self._read(verify_chain)
        context = multiprocessing.get_context("spawn")  # never fork a threaded process
        with (
            database_outage_as_unavailable(),
            ProcessPoolExecutor(1, mp_context=context) as walker,
        ):
            return walker.submit(walk_chain, url.render_as_string(hide_password=False)).result()

    def _read(self, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with database_outage_as_unavailable(), queries.snapshot(self._engine) as conn:
            return query(conn, *args, **kwargs)


def walk_chain(database_url: str) -> dict[str, Any]:
    """verify_chain in one snapshot, from a process of its own (the walker's entry point)."""
    engine = make_engine(Config.from_env({"BITNEXUS_DATABASE_URL": database_url}))
    try:
        with queries.snapshot(engine) as conn:
            return verify_chain(conn)
    finally:
        engine.dispose()


def _head(conn: Connection) -> int:
    return conn.execute(sa.select(ledger_head.c.block_index)).scalar_one()


def _block_index(value: object) -> int:
    if type(value) is not int or value < 0:
        raise NotFound(f"block {value!r}")
    return value


def _found(value: Any) -> Any:
    if value is None:
        raise NotFound("ledger record")
    return value


def _summary(report: dict[str, Any]) -> str:
    if report["reason"] is not None:
        return report["reason"]
    return f"{len(report['balance_mismatches'])} balance(s) differ from their postings"
