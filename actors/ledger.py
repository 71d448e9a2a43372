"""The Ledger (registered name `ledger`, one per process): the only writer of the journal.

Record requests are group-committed: the ledger takes the requests queued behind the one
it is handling (up to `ledger_batch_max` in all) and appends them as one block in one
database transaction, answering each caller only after that commit. Reads and
verification run in a snapshot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine

from actors.errors import NotFound, Unavailable
from actors.service import database_outage_as_unavailable, require_id
from bitnexus.config import Config
from bitnexus.ledger import metrics as ledger_metrics
from bitnexus.ledger import queries
from bitnexus.ledger.store import Entry, ensure_genesis, record
from bitnexus.ledger.verify import verify_chain, verify_tail, verify_transaction
from supervisors import Rejected, Worker, cast

NAME = "ledger"
PREPARE_RETRY_SECONDS = 1.0  # while the database is away at start, how often to try again


class LedgerDegraded(Unavailable):
    """The ledger found its chain damaged and refuses to write until it is repaired."""


@dataclass(frozen=True)
class Record:
    """Append ``entry``: replies {"transaction": {...}, "replay": bool}."""

    entry: Entry


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


@dataclass(frozen=True)
class _Prepare:
    """The ledger's own retry of its start-up checks after a database outage."""


class Announcer:
    """Tells the world about posted transactions: ``during`` runs inside the block's
    database transaction (a NOTIFY there is sent only by the commit), ``committed`` after
    the commit. This one tells nobody; the application's tree injects the real one."""

    def during(self, conn: Connection, transactions: list[dict[str, Any]]) -> None:
        """Called inside the block's transaction with its newly posted transactions."""

    def committed(self) -> None:
        """Called once the block has committed."""


class Ledger(Worker):
    """Appends blocks; refuses to (``degraded``) when the recent chain does not verify."""

    def __init__(self, config: Config, engine: Engine, announcer: Announcer | None = None) -> None:
        super().__init__()
        self._engine = engine
        self._announcer = announcer or Announcer()
        self._places = config.currencies
        self._batch_max = config.ledger_batch_max
        self._verify_tail = config.ledger_verify_tail

    def init(self) -> None:
        # Found by drill 4 (database outage): an init that fails while the database is
        # away turns every restart into a failed start, which exhausts the supervisors'
        # intensity and takes the tree, then the gunicorn master, down. As OTP advises for
        # a server with an external dependency, start anyway (degraded, answering 503) and
        # check the chain once the database answers: on the next message or retry tick.
        self._prepared = False
        self._retry: threading.Timer | None = None
        self._prepare_or_retry()

    def terminate(self) -> None:
        if self._retry is not None:
            self._retry.cancel()

    def _prepare(self) -> None:
        """Genesis and the tail check, once; Unavailable while the database is away."""
        if self._prepared:
            return
        with database_outage_as_unavailable():
            ensure_genesis(self._engine)
            with queries.snapshot(self._engine) as conn:
                reason = verify_tail(conn, self._verify_tail)
        self._prepared = True
        self.degraded = None if reason is None else f"chain does not verify: {reason}"

    def _prepare_or_retry(self) -> None:
        try:
            self._prepare()
        except Unavailable as exc:
            self.degraded = str(exc)
            self._retry = threading.Timer(PREPARE_RETRY_SECONDS, cast, (self.actor_ref, _Prepare()))
            self._retry.daemon = True
            self._retry.start()

    def handle(self, message: object) -> object:
        if isinstance(message, _Prepare):
            self._prepare_or_retry()
            return None
        self._prepare()
        match message:
            case Record(entry=entry):
                return self._record(entry)
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
                report = self._read(verify_chain)
                if not report["valid"]:
                    self.degraded = f"chain does not verify: {_summary(report)}"
                return report
        return super().handle(message)

    def _record(self, entry: Entry) -> dict[str, Any]:
        if self.degraded is not None:
            raise LedgerDegraded(self.degraded)
        pending = self.drain(self._batch_max - 1, _is_record)
        started = time.perf_counter()
        try:
            with database_outage_as_unavailable():
                outcomes = record(
                    self._engine,
                    [entry, *(p.message.entry for p in pending)],
                    self._places,
                    self._announcer.during,
                )
        except Unavailable as exc:
            for p in pending:  # not posted as far as anyone knows: a retry is safe
                p.fail(Unavailable(str(exc)))
            raise
        ledger_metrics.observe_commit(outcomes, time.perf_counter() - started)
        self._announcer.committed()
        for p, outcome in zip(pending, outcomes[1:], strict=True):
            if isinstance(outcome, Rejected):
                p.fail(outcome)
            else:
                p.reply(outcome)
        if isinstance(outcomes[0], Rejected):
            raise outcomes[0]
        return outcomes[0]

    def _read(self, query: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with database_outage_as_unavailable(), queries.snapshot(self._engine) as conn:
            return query(conn, *args, **kwargs)


def _is_record(message: object) -> bool:
    return isinstance(message, Record)


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
