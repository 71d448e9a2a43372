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
from sqlalchemy.exc import DBAPIError

from actors.client import ask
from actors.errors import NotFound, Unavailable, ValidationFailed
from actors.service import Service, database_outage_as_unavailable, read, require_id
from bitnexus import ledger as journal
from bitnexus.common.pagination import DEFAULT_LIMIT, Page
from bitnexus.config import Config
from bitnexus.ledger import (
    Block,
    ChainReport,
    Checkpoint,
    Entry,
    Posting,
    Proof,
    Transaction,
    checkpoints,
    degraded,
    metrics,
)
from supervisors import cast

NAME = "ledger"
PREPARE_RETRY_SECONDS = 1.0  # while the database is away at start, how often to try again


class LedgerDegraded(Unavailable):
    """A verification found the chain damaged (bitnexus.ledger.degraded): no process
    writes until an operator clears it with `bitnexus ledger clear-degraded`."""


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
class SignHead:
    """Sign the current head now (also done every `ledger_checkpoint_every` blocks)."""


@dataclass(frozen=True)
class Checkpoints:
    """The public key (hex) and every signed checkpoint, oldest first."""


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
        self._limits = config.limits
        self._every = config.ledger_checkpoint_every
        seed = config.ledger_signing_key
        self._key = None if seed is None else checkpoints.load_key(seed)
        self._last_checkpoint: int | None = None

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
        """Genesis and the start-up check, once; Unavailable while the database is away.

        Damage found is recorded in the database, so every process stops writing.
        """
        if self._prepared:
            return
        with database_outage_as_unavailable():
            journal.ensure_genesis(self._engine)
        reason = read(self._engine, journal.verify_tail, self._verify_tail)
        if reason is not None:
            self._mark_degraded(f"chain does not verify: {reason}")
        self._read_degraded()
        self._last_checkpoint = read(self._engine, checkpoints.last_index)
        metrics.observe_head(read(self._engine, journal.head_index))
        self._prepared = True

    def _mark_degraded(self, reason: str) -> None:
        with database_outage_as_unavailable():
            degraded.mark(self._engine, reason)

    def _read_degraded(self) -> None:
        self.degraded = read(self._engine, degraded.reason)

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
            case SignHead():
                return self._checkpoint()
            case Checkpoints():
                if self._key is None:
                    raise Unavailable("no ledger signing key (BITNEXUS_LEDGER_SIGNING_KEY)")
                listed = read(self._engine, checkpoints.all_checkpoints)
                return checkpoints.public_hex(self._key), tuple(listed)
            case VerifyChain():
                report = read(self._engine, journal.verify_chain)
                if not report.valid:
                    self._mark_degraded(f"chain does not verify: {report.summary()}")
                    self._read_degraded()
                return report
        return super().handle(message)

    def _record(self, entry: Entry) -> Transaction:
        if self.degraded is not None:
            self._read_degraded()  # an operator may have cleared it since
            if self.degraded is not None:
                raise LedgerDegraded(self.degraded)
        pending = self.drain(self._batch_max - 1, _is_record)
        started = time.perf_counter()
        try:
            with database_outage_as_unavailable():
                try:
                    entries = [entry, *(p.message.entry for p in pending)]
                    outcomes = journal.record(self._engine, entries, self._places, self._limits)
                except DBAPIError as exc:
                    if not degraded.is_refusal(exc):
                        raise
                    self._read_degraded()  # another process found damage
                    raise LedgerDegraded(self.degraded or "ledger is degraded") from exc
        except Unavailable as exc:
            for p in pending:  # not posted as far as anyone knows: a retry is safe
                p.fail(type(exc)(str(exc)))
            raise
        metrics.observe_commit(outcomes, time.perf_counter() - started)
        self._checkpoint_if_due(outcomes)
        for p, outcome in zip(pending, outcomes[1:], strict=True):
            if isinstance(outcome, ValidationFailed):
                p.fail(outcome)
            else:
                p.reply(outcome)
        if isinstance(outcomes[0], ValidationFailed):
            raise outcomes[0]
        return outcomes[0]

    def _checkpoint(self) -> Checkpoint:
        if self._key is None:
            raise Unavailable("no ledger signing key (BITNEXUS_LEDGER_SIGNING_KEY)")
        with database_outage_as_unavailable():
            signed = checkpoints.sign_head(self._engine, self._key)
        self._last_checkpoint = signed.index
        metrics.observe_checkpoint(time.time())
        return signed

    def _checkpoint_if_due(self, outcomes: list[Any]) -> None:
        """Sign the head once `ledger_checkpoint_every` blocks have passed since the last
        checkpoint (the block just written is durable: a failure here loses nothing)."""
        posted = [o.block_index for o in outcomes if isinstance(o, Transaction)]
        if self._key is None or not posted:
            return
        if max(posted) - (self._last_checkpoint or 0) >= self._every:
            self._checkpoint()


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


def checkpoint(*, timeout: float | None = None) -> Checkpoint:
    """Sign the current head now; the checkpoint."""
    return ask(NAME, SignHead(), timeout)


def list_checkpoints(*, timeout: float | None = None) -> tuple[str, tuple[Checkpoint, ...]]:
    """The public key (raw, hex) and every signed checkpoint, oldest first."""
    return ask(NAME, Checkpoints(), timeout)
