"""The Ledger (registered name `ledger`, one per process): the only writer of the journal.

Record requests are group-committed: the ledger takes the requests queued behind the one
it is handling (up to `ledger_batch_max` in all) and appends them as one block in one
database transaction, answering each caller only after that commit. Reads and
verification run in a snapshot.

The client functions at the end are its API, as an OTP module exports one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from actors.client import ask
from actors.errors import NotFound, Unavailable, ValidationFailed
from actors.service import Service, database_outage_as_unavailable, read, require_id
from bitnexus import ledger as journal
from bitnexus.common.pagination import DEFAULT_LIMIT, Page
from bitnexus.config import Config
from bitnexus.ledger import Block, ChainReport, Entry, Posting, Proof, Transaction, metrics
from supervisors import cast

NAME = "ledger"
PREPARE_RETRY_SECONDS = 1.0  # while the database is away at start, how often to try again


class LedgerDegraded(Unavailable):
    """The ledger found its chain damaged and refuses to write until it is repaired."""


@dataclass(frozen=True)
class Record:
    """Append ``entry``: replies the recorded `Transaction` (`replayed` for a retry)."""

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


class Ledger(Service):
    """Appends blocks; refuses to (``degraded``) when the recent chain does not verify."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._places = config.currencies
        self._batch_max = config.ledger_batch_max
        self._verify_tail = config.ledger_verify_tail

    def init(self) -> None:
        # An init that fails while the database is away would turn every restart into a
        # failed start, exhaust the supervisors' intensity and take the tree, then the
        # gunicorn master, down. As OTP advises for a server with an external dependency,
        # start anyway (degraded, answering 503) and check the chain once the database
        # answers: on the next message or retry tick.
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
            journal.ensure_genesis(self._engine)
        reason = read(self._engine, journal.verify_tail, self._verify_tail)
        metrics.observe_head(read(self._engine, journal.head_index))
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
                    read(
                        self._engine,
                        journal.get_transaction,
                        require_id(transaction_id, "transaction"),
                        self._places,
                    )
                )
            case History(user_id=user_id, currency=currency, limit=limit, cursor=cursor):
                return read(
                    self._engine,
                    journal.history,
                    require_id(user_id, "user"),
                    self._places,
                    currency=currency,
                    limit=limit,
                    cursor=cursor,
                )
            case Balances(user_id=user_id):
                return read(
                    self._engine, journal.balances, require_id(user_id, "user"), self._places
                )
            case GetBlock(index=index):
                return _found(
                    read(self._engine, journal.get_block, _block_index(index), self._places)
                )
            case Verify(transaction_id=transaction_id):
                return _found(
                    read(
                        self._engine,
                        journal.verify_transaction,
                        require_id(transaction_id, "transaction"),
                    )
                )
            case VerifyChain():
                report = read(self._engine, journal.verify_chain)
                if not report.valid:
                    self.degraded = f"chain does not verify: {report.summary()}"
                return report
        return super().handle(message)

    def _record(self, entry: Entry) -> Transaction:
        if self.degraded is not None:
            raise LedgerDegraded(self.degraded)
        pending = self.drain(self._batch_max - 1, _is_record)
        started = time.perf_counter()
        try:
            with database_outage_as_unavailable():
                outcomes = journal.record(
                    self._engine, [entry, *(p.message.entry for p in pending)], self._places
                )
        except Unavailable as exc:
            for p in pending:  # not posted as far as anyone knows: a retry is safe
                p.fail(Unavailable(str(exc)))
            raise
        metrics.observe_commit(outcomes, time.perf_counter() - started)
        for p, outcome in zip(pending, outcomes[1:], strict=True):
            if isinstance(outcome, ValidationFailed):
                p.fail(outcome)
            else:
                p.reply(outcome)
        if isinstance(outcomes[0], ValidationFailed):
            raise outcomes[0]
        return outcomes[0]


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


# ---------------------------------------------------------------- client functions
# Each waits `timeout` seconds (default: the configured call timeout) and raises the
# domain's error (ValidationFailed, NotFound), Unavailable (also while the ledger is
# degraded) or the runtime's.


def record_transaction(entry: Entry, *, timeout: float | None = None) -> Transaction:
    """Append ``entry`` (its postings sum to zero); answered after the block commits."""
    return ask(NAME, Record(entry), timeout)


def get_history(
    user_id: int,
    *,
    currency: str | None = None,
    limit: int | str | None = DEFAULT_LIMIT,
    cursor: str | None = None,
    timeout: float | None = None,
) -> Page[Posting]:
    """The user's postings, newest first, each with its transaction; ``limit`` (<= 100)
    and ``cursor`` as in every listing (text from a query string is cast)."""
    return ask(NAME, History(user_id, currency, limit, cursor), timeout)


def balances(user_id: int, *, timeout: float | None = None) -> dict[str, Decimal]:
    """The user's balance in every currency (zero for those never used)."""
    return ask(NAME, Balances(user_id), timeout)


def get_block(index: int, *, timeout: float | None = None) -> Block:
    return ask(NAME, GetBlock(index), timeout)


def verify(transaction_id: int, *, timeout: float | None = None) -> Proof:
    """The transaction's inclusion proof up to the head; ``.valid`` is the verdict."""
    return ask(NAME, Verify(transaction_id), timeout)


def verify_chain(*, timeout: float | None = None) -> ChainReport:
    """The whole chain from genesis and every balance; takes what the chain takes."""
    return ask(NAME, VerifyChain(), timeout)
