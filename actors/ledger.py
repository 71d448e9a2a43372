"""The Ledger (registered name `ledger`, one per process): the only writer of the journal.

Record requests are group-committed: the ledger takes the requests queued behind the one
it is handling (up to `ledger_batch_max` in all) and appends them as one block in one
database transaction, answering each caller only after that commit. Blocks are
pipelined: while block N's writes and commit are in flight (in the committer thread), the
actor takes the next batch and sends block N + 1's head lock and reads, which the
database grants the moment N commits or fails, so N + 1 is checked against the chain as
it really is; a failed commit fails exactly its own block's callers. Reads and
verification are the readers' (`actors/ledger_readers.py`), so they never queue behind a
block.

The client functions at the end are its API, as an OTP module exports one.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from actors import ledger_readers as readers
from actors.client import ask
from actors.errors import Unavailable, ValidationFailed
from actors.service import Service, database_outage_as_unavailable, read
from bitnexus import ledger as journal
from bitnexus.common.pagination import DEFAULT_LIMIT, Page
from bitnexus.config import Config
from bitnexus.ledger import (
    Block,
    ChainReport,
    Checkpoint,
    Entry,
    Notice,
    Posting,
    Proof,
    Transaction,
    checkpoints,
    degraded,
    metrics,
)
from supervisors import ActorCrashed, Pending, cast, crash

NAME = "ledger"
PREPARE_RETRY_SECONDS = 1.0  # while the database is away at start, how often to try again
logger = logging.getLogger("bitnexus.ledger")


class LedgerDegraded(Unavailable):
    """A verification found the chain damaged (bitnexus.ledger.degraded): no process
    writes until an operator clears it with `bitnexus ledger clear-degraded`."""


@dataclass(frozen=True)
class Record:
    """Append ``entry``: replies the recorded `Transaction` (`replayed` for a retry)."""

    entry: Entry


@dataclass(frozen=True)
class SignHead:
    """Sign the current head now (also done every `ledger_checkpoint_every` blocks)."""


@dataclass(frozen=True)
class Checkpoints:
    """The public key (hex) and every signed checkpoint, oldest first."""


@dataclass(frozen=True)
class _Prepare:
    """The ledger's own retry of its start-up checks after a database outage."""


class Announcer:
    """Tells the world about committed blocks, costing the writer next to nothing: the
    rendering is for others to do, off the writer's path. This one tells nobody; the
    application's tree injects the real one."""

    def notice(self, block_index: int, transactions: list[Transaction]) -> Notice | None:
        """On PostgreSQL: the NOTIFY naming the block, sent inside its database
        transaction (so by its commit only, and in commit order)."""
        return None

    def committed(self, transactions: list[Transaction]) -> None:
        """In the committer thread once a block has committed, with the transactions it
        posted, in order: hand them on, do no work here."""


class Ledger(Service):
    """Appends blocks; refuses to (``degraded``) when the recent chain does not verify."""

    def __init__(self, config: Config, engine: Engine, announcer: Announcer | None = None) -> None:
        super().__init__()
        self._engine = engine
        self._announcer = announcer or Announcer()
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
        # Block N commits in this thread while the actor prepares block N + 1.
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="ledger-commit")
        self._in_flight: Future[None] | None = None
        self._pipelined = self._engine.dialect.name == "postgresql"
        self._prepare_or_retry()

    def terminate(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        self._committer.shutdown(wait=True)  # the block in flight answers its callers

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
        newest = read(self._engine, checkpoints.last)
        self._last_checkpoint = None if newest is None else newest.index
        metrics.observe_checkpoint(newest)
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
                self._record(entry)
                return None
            case readers.Degraded():
                self._read_degraded()
                return None
            case SignHead():
                return self._checkpoint()
            case Checkpoints():
                if self._key is None:
                    raise Unavailable("no ledger signing key (BITNEXUS_LEDGER_SIGNING_KEY)")
                listed = read(self._engine, checkpoints.all_checkpoints)
                return checkpoints.public_hex(self._key), tuple(listed)
        return super().handle(message)

    def _record(self, entry: Entry) -> None:
        """Prepare the next block (it waits in the database for the head lock, so for the
        block in flight to commit or fail) and hand it to the committer; then the next.
        Each caller is answered by the committer once its own block's outcome is known."""
        if self.degraded is not None:
            self._read_degraded()  # an operator may have cleared it since
            if self.degraded is not None:
                raise LedgerDegraded(self.degraded)
        if not self._pipelined and self._in_flight is not None:
            self._in_flight.result()  # SQLite: its write lock is not worth queueing for
        # Behind our own block in flight the wait is the pipeline's, and joining late
        # callers would only merge the two blocks; behind another writer's block, joining
        # saves a lock hand-off per late caller.
        own_block_ahead = self._in_flight is not None and not self._in_flight.done()
        batch = [self.defer(), *self.drain(self._batch_max - 1, _is_record, defer=True)]

        def more() -> list[Entry]:
            """Requests queued while the head lock was on its way (another writer's block)."""
            joined = self.drain(self._batch_max - len(batch), _is_record, defer=True)
            batch.extend(joined)
            return [p.message.entry for p in joined]

        started = time.perf_counter()
        try:
            with database_outage_as_unavailable():
                entries = [p.message.entry for p in batch]
                prepared = journal.prepare(
                    self._engine,
                    entries,
                    self._places,
                    self._limits,
                    None if own_block_ahead else more,
                )
        except Unavailable as exc:
            _fail(batch, exc)  # not posted as far as anyone knows: a retry is safe
            return
        except BaseException as exc:
            _fail(batch, ActorCrashed(self.label, exc))
            raise
        self._in_flight = self._committer.submit(self._commit, prepared, batch, started)

    def _commit(self, prepared: journal.Prepared, batch: list[Pending], started: float) -> None:
        """In the committer thread: write and commit one block, then answer its callers."""
        try:
            with database_outage_as_unavailable():
                try:
                    outcomes = prepared.commit(self._announcer.notice)
                except DBAPIError as exc:
                    if degraded.is_refusal(exc):  # another process found damage
                        self.degraded = read(self._engine, degraded.reason) or str(exc.orig)
                        raise LedgerDegraded(self.degraded) from exc
                    if not journal.is_retryable(exc):
                        raise
                    entries = [p.message.entry for p in batch]
                    outcomes = journal.record(  # afresh
                        self._engine, entries, self._places, self._limits, self._announcer.notice
                    )
        except Unavailable as exc:
            _fail(batch, exc)
            return
        except BaseException as exc:  # a bug: its callers are told, the ledger restarts
            logger.error("ledger block failed", exc_info=exc)
            _fail(batch, ActorCrashed(self.label, exc))
            crash(self.actor_ref, f"ledger block failed: {exc!r}")
            return
        metrics.observe_commit(outcomes, time.perf_counter() - started)
        posted = [o for o in outcomes if isinstance(o, Transaction) and not o.replayed]
        if posted:
            self._announcer.committed(posted)
        for p, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, ValidationFailed):
                p.fail(outcome)
            else:
                p.reply(outcome)
        self._checkpoint_if_due(outcomes)

    def _checkpoint(self) -> Checkpoint:
        if self._key is None:
            raise Unavailable("no ledger signing key (BITNEXUS_LEDGER_SIGNING_KEY)")
        with database_outage_as_unavailable():
            signed = checkpoints.sign_head(self._engine, self._key)
        self._last_checkpoint = signed.index
        metrics.observe_checkpoint(signed)
        return signed

    def _checkpoint_if_due(self, outcomes: list[Any]) -> None:
        """Sign the head once `ledger_checkpoint_every` blocks have passed since the last
        checkpoint (the block just written is durable: a failure here loses nothing)."""
        posted = [o.block_index for o in outcomes if isinstance(o, Transaction)]
        if self._key is None or not posted:
            return
        if checkpoints.due(max(posted), self._last_checkpoint, self._every):
            try:
                self._checkpoint()
            except Unavailable:
                logger.warning("checkpoint not signed: database unavailable; next block retries")


def _fail(batch: list[Pending], exc: BaseException) -> None:
    for p in batch:
        p.fail(exc)


def _is_record(message: object) -> bool:
    return isinstance(message, Record)


# ---------------------------------------------------------------- client functions
# Each waits `timeout` seconds (default: the configured call timeout) and raises the
# domain's error (ValidationFailed, NotFound), Unavailable (also while the ledger is
# degraded) or the runtime's. Reads go to the ledger's readers, writes to the writer.


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
    return ask(readers.NAME, readers.History(user_id, currency, limit, cursor), timeout)


def balances(user_id: int, *, timeout: float | None = None) -> dict[str, Decimal]:
    """The user's balance in every currency (zero for those never used)."""
    return ask(readers.NAME, readers.Balances(user_id), timeout)


def get_block(index: int, *, timeout: float | None = None) -> Block:
    return ask(readers.NAME, readers.GetBlock(index), timeout)


def block_transactions(index: int, *, timeout: float | None = None) -> list[Transaction]:
    """Block ``index``'s transactions in order, with their postings (NotFound: no such
    block)."""
    return ask(readers.NAME, readers.BlockTransactions(index), timeout)


def verify(transaction_id: int, *, timeout: float | None = None) -> Proof:
    """The transaction's inclusion proof up to the head; ``.valid`` is the verdict."""
    return ask(readers.NAME, readers.Verify(transaction_id), timeout)


def verify_chain(*, timeout: float | None = None) -> ChainReport:
    """The whole chain from genesis and every balance; takes what the chain takes, in a
    reader, while the writer goes on."""
    return ask(readers.NAME, readers.VerifyChain(), timeout)


def checkpoint(*, timeout: float | None = None) -> Checkpoint:
    """Sign the current head now; the checkpoint."""
    return ask(NAME, SignHead(), timeout)


def list_checkpoints(*, timeout: float | None = None) -> tuple[str, tuple[Checkpoint, ...]]:
    """The public key (raw, hex) and every signed checkpoint, oldest first."""
    return ask(NAME, Checkpoints(), timeout)
