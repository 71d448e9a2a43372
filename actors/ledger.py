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

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from actors.errors import NotFound, Unavailable
from actors.service import database_outage_as_unavailable, require_id
from bitnexus.config import Config
from bitnexus.ledger import checkpoints, degraded, queries
from bitnexus.ledger import metrics as ledger_metrics
from bitnexus.ledger.store import Entry, ensure_genesis, record
from bitnexus.ledger.verify import summary, verify_chain, verify_tail, verify_transaction
from supervisors import Rejected, Worker, cast

NAME = "ledger"
PREPARE_RETRY_SECONDS = 1.0  # while the database is away at start, how often to try again


class LedgerDegraded(Unavailable):
    """A verification found the chain damaged (bitnexus.ledger.degraded): no process
    writes until an operator clears it with `bitnexus ledger clear-degraded`."""


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
class Checkpoint:
    """Sign the current head now (also done every `ledger_checkpoint_every` blocks)."""


@dataclass(frozen=True)
class Checkpoints:
    """The public key and every signed checkpoint, oldest first."""


@dataclass(frozen=True)
class _Prepare:
    """The ledger's own retry of its start-up checks after a database outage."""


class Ledger(Worker):
    """Appends blocks; refuses to (``degraded``) when the recent chain does not verify."""

    def __init__(self, config: Config, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._places = config.currencies
        self._limits = config.limits
        self._batch_max = config.ledger_batch_max
        self._verify_tail = config.ledger_verify_tail
        self._every = config.ledger_checkpoint_every
        seed = config.ledger_signing_key
        self._key = None if seed is None else checkpoints.load_key(seed)
        self._last_checkpoint: int | None = None

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
        """Genesis and the start-up check, once; Unavailable while the database is away.

        Damage found is recorded in the database, so every process stops writing.
        """
        if self._prepared:
            return
        with database_outage_as_unavailable():
            ensure_genesis(self._engine)
            with queries.snapshot(self._engine) as conn:
                reason = verify_tail(conn, self._verify_tail)
            if reason is not None:
                degraded.mark(self._engine, f"chain does not verify: {reason}")
            self._read_degraded()
            with queries.snapshot(self._engine) as conn:
                self._last_checkpoint = checkpoints.last_index(conn)
        self._prepared = True

    def _read_degraded(self) -> None:
        with queries.snapshot(self._engine) as conn:
            self.degraded = degraded.reason(conn)

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
            case Checkpoint():
                return self._checkpoint()
            case Checkpoints():
                if self._key is None:
                    raise Unavailable("no ledger signing key")
                listed = self._read(checkpoints.all_checkpoints)
                return {"public_key": checkpoints.public_hex(self._key), "checkpoints": listed}
            case VerifyChain():
                report = self._read(verify_chain)
                if not report["valid"]:
                    with database_outage_as_unavailable():
                        degraded.mark(self._engine, f"chain does not verify: {summary(report)}")
                        self._read_degraded()
                return report
        return super().handle(message)

    def _record(self, entry: Entry) -> dict[str, Any]:
        if self.degraded is not None:
            with database_outage_as_unavailable():
                self._read_degraded()  # an operator may have cleared it since
            if self.degraded is not None:
                raise LedgerDegraded(self.degraded)
        pending = self.drain(self._batch_max - 1, _is_record)
        started = time.perf_counter()
        try:
            with database_outage_as_unavailable():
                try:
                    entries = [entry, *(p.message.entry for p in pending)]
                    outcomes = record(self._engine, entries, self._places, self._limits)
                except DBAPIError as exc:
                    if not degraded.is_refusal(exc):
                        raise
                    self._read_degraded()  # another process found damage
                    raise LedgerDegraded(self.degraded or "ledger is degraded") from exc
        except Unavailable as exc:
            for p in pending:  # not posted as far as anyone knows: a retry is safe
                p.fail(type(exc)(str(exc)))
            raise
        ledger_metrics.observe_commit(outcomes, time.perf_counter() - started)
        self._checkpoint_if_due(outcomes)
        for p, outcome in zip(pending, outcomes[1:], strict=True):
            if isinstance(outcome, Rejected):
                p.fail(outcome)
            else:
                p.reply(outcome)
        if isinstance(outcomes[0], Rejected):
            raise outcomes[0]
        return outcomes[0]

    def _checkpoint(self) -> dict[str, Any]:
        if self._key is None:
            raise Unavailable("no ledger signing key (BITNEXUS_LEDGER_SIGNING_KEY)")
        with database_outage_as_unavailable():
            signed = checkpoints.sign_head(self._engine, self._key)
        self._last_checkpoint = signed["index"]
        return signed

    def _checkpoint_if_due(self, outcomes: list[Any]) -> None:
        """Sign the head once `ledger_checkpoint_every` blocks have passed since the last
        checkpoint (the block just written is durable: a failure here loses nothing)."""
        posted = [o["transaction"]["block_index"] for o in outcomes if isinstance(o, dict)]
        if self._key is None or not posted:
            return
        if max(posted) - (self._last_checkpoint or 0) >= self._every:
            self._checkpoint()

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
