"""The bank workload (Jepsen's "bank" test) shared by the in-process and multi-process tests:
random transfers among funded users, a chaos thread crashing the ledger and transactions
actors, and snapshot reads that must always see the same total."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

import sqlalchemy as sa

from actors.errors import Unavailable, ValidationFailed
from actors.transactions import CreateTransaction
from bitnexus.common.money import format_minor
from bitnexus.config import Config
from bitnexus.database.engine import snapshot
from bitnexus.ledger.schema import ledger_accounts, ledger_transactions
from bitnexus.tree import service_children
from supervisors import ActorCrashed, CallTimeout, NoProcess, SupervisorSpec, call, crash

START_MINOR = 100_00  # each user's opening balance, in cents
CHAOS_PAUSE = 0.03  # seconds between crashes (pacing, not synchronisation)
MAX_ATTEMPTS = 100  # a transfer's tries under chaos: far above what a crash every 30 ms costs


def chaos_spec(config: Config, engine: sa.Engine) -> SupervisorSpec:
    """The services with a restart intensity that tolerates a crash every few milliseconds."""
    return SupervisorSpec(
        children=service_children(config, engine),
        strategy="one_for_one",
        max_restarts=10_000,
        max_seconds=1.0,
    )


def transfers(users: Sequence[int], count: int, seed: int, prefix: str) -> dict[str, int]:
    """``count`` random transfers, each retried under its key until it is answered;
    returns {idempotency key: transaction id} for those posted."""
    rng = random.Random(seed)
    posted: dict[str, int] = {}
    for n in range(count):
        sender, recipient = rng.sample(list(users), 2)
        key = f"{prefix}-{n}"
        attrs = {
            "kind": "transfer",
            "amount": format_minor(rng.randint(1, START_MINOR // 2), 2),
            "currency": "EUR",
            "recipient_id": recipient,
            "idempotency_key": key,
        }
        tx_id = _until_answered(CreateTransaction(sender, attrs))
        if tx_id is not None:
            posted[key] = tx_id
    return posted


def _until_answered(message: CreateTransaction) -> int | None:
    """Retried under the same key until answered, at most MAX_ATTEMPTS times."""
    for _ in range(MAX_ATTEMPTS):
        try:
            return call("transactions", message, 10.0).id
        except ValidationFailed as refused:
            assert refused.errors == {"amount": ["insufficient funds"]}, refused.errors
            return None
        except (Unavailable, ActorCrashed) as exc:
            if "chaos" not in str(exc):  # only the crashes we cause are expected
                raise
        except CallTimeout:
            continue  # a restart took long: not known to be posted, the key makes a retry safe
    raise AssertionError(f"not answered in {MAX_ATTEMPTS} attempts: {message}")


def chaos(stop: threading.Event, seed: int) -> int:
    """Crash the ledger or a transactions worker every few milliseconds; how many."""
    rng = random.Random(seed)
    crashes = 0
    while not stop.wait(CHAOS_PAUSE):
        try:
            crash(rng.choice(["ledger", "transactions"]), "chaos")
        except NoProcess:  # between incarnations right now
            continue
        crashes += 1
    return crashes


def snapshot_problem(engine: sa.Engine, total: int) -> str | None:
    """Read every EUR balance in one snapshot: the wallets must hold exactly ``total``."""
    a = ledger_accounts
    with snapshot(engine) as conn:
        rows = conn.execute(sa.select(a.c.user_id, a.c.balance).where(a.c.currency == "EUR"))
        balances = {row.user_id: row.balance for row in rows}
    wallets = [b for user, b in balances.items() if user is not None]
    if sum(wallets) != total or balances.get(None) != -total or min(wallets) < 0:
        return f"inconsistent snapshot: {balances}"
    return None


def posted_transfers(engine: sa.Engine) -> dict[str, int]:
    """{idempotency key: id} of every transfer in the ledger."""
    t = ledger_transactions
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.idempotency_key, t.c.id).where(t.c.kind == "transfer"))
        return {row.idempotency_key: row.id for row in rows}
