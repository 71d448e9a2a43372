"""The bank checker: every invariant of the issue, then a printed summary.

Reads the database directly in one REPEATABLE READ snapshot: the checker is a test, and
no HTTP endpoint gives one snapshot of all balances.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from bank_support import snapshot_problem
from drill_bank import Bank
from drill_http import send
from drill_server import OPERATOR

from bitnexus.common.money import to_minor
from bitnexus.database.engine import snapshot
from bitnexus.ledger.schema import ledger_accounts, ledger_transactions
from bitnexus.ledger.verify import verify_chain


@dataclass
class Summary:
    drill: str
    figures: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def print(self) -> None:
        print(f"\n== drill {self.drill}: {json.dumps(self.figures, sort_keys=True)}")
        for violation in self.violations:
            print(f"   VIOLATION: {violation}")


def check_bank(bank: Bank, base: str, summary: Summary) -> Summary:
    """Assert the invariants after the workload finished; fill in the figures."""
    stats, v = bank.stats, summary.violations
    v += bank.problems[:5]
    if bank.snapshots == 0:
        v.append("no snapshot was taken during the load")
    final = snapshot_problem(bank.engine, bank.total)
    if final is not None:
        v.append(f"final {final}")
    v += stats.unexpected[:10]
    v += [f"unresolved {k}" for k in stats.unresolved[:10]]
    v += _ledger_matches(bank.engine, stats.acknowledged)
    v += _content_matches(bank.engine, stats.acknowledged, stats.sent)
    v += _balances_match(bank.engine, stats.sent)
    v += _chain_verifies(bank.engine, base)
    if stats.replayed == 0:
        v.append("no answer was a replay: the idempotency path went untested")
    summary.figures.update(
        requests=stats.requests,
        acknowledged=len(stats.acknowledged),
        refused_insufficient_funds=stats.refused,
        retried=stats.retried,
        replayed=stats.replayed,
        replayed_on_retry=stats.replayed_on_retry,
        failed_by_status=stats.failed(),
        snapshots=bank.snapshots,
        unresolved=len(stats.unresolved),
        lost=_lost(bank.engine, stats.acknowledged),
    )
    return summary


def _keyed(engine: sa.Engine) -> dict[tuple[int, str], list[int]]:
    t = ledger_transactions
    keyed = t.c.idempotency_key.is_not(None)
    query = sa.select(t.c.user_id, t.c.idempotency_key, t.c.id).where(keyed)
    posted: dict[tuple[int, str], list[int]] = {}
    with snapshot(engine) as conn:
        for row in conn.execute(query):
            posted.setdefault((row.user_id, row.idempotency_key), []).append(row.id)
    return posted


def _ledger_matches(engine: sa.Engine, acknowledged: dict[tuple[int, str], int]) -> list[str]:
    """Each 201 in the ledger exactly once, under its id; no key posted twice; nothing
    posted that no client was finally answered for."""
    posted = _keyed(engine)
    problems = [f"key {k} posted {len(ids)} times" for k, ids in posted.items() if len(ids) > 1]
    for key, tx_id in acknowledged.items():
        if posted.get(key) != [tx_id]:
            problems.append(f"acknowledged {key} as {tx_id}, ledger has {posted.get(key)}")
    extra = set(posted) - set(acknowledged)
    if extra:
        problems.append(f"{len(extra)} posted transactions no client was answered 201 for")
    return problems[:10]


def _content_matches(
    engine: sa.Engine,
    acknowledged: dict[tuple[int, str], int],
    sent: dict[tuple[int, str], dict[str, object]],
) -> list[str]:
    """Each acknowledged transaction stored as the client sent it (kind, amount, currency,
    parties), and the ledger holds as many transactions as there were acknowledgements."""
    t = ledger_transactions
    columns = (t.c.id, t.c.kind, t.c.amount, t.c.currency, t.c.user_id, t.c.recipient_id)
    with snapshot(engine) as conn:
        stored = {row.id: row for row in conn.execute(sa.select(*columns))}
    problems = []
    if len(stored) != len(acknowledged):
        problems.append(f"{len(stored)} transactions stored, {len(acknowledged)} acknowledged")
    for (user, key), tx_id in acknowledged.items():
        attrs, row = sent[(user, key)], stored.get(tx_id)
        wanted = (
            attrs["kind"],
            _minor(attrs["amount"]),
            attrs["currency"],
            user,
            attrs.get("recipient_id"),
        )
        if row is None or tuple(row)[1:] != wanted:
            problems.append(f"{key}: sent {wanted}, stored {row and tuple(row)[1:]}")
    return problems[:10]


def _balances_match(engine: sa.Engine, sent: dict[tuple[int, str], dict[str, object]]) -> list[str]:
    """Every wallet's balance derived from the clients' own acknowledged operations."""
    derived: Counter[int] = Counter()
    for (user, _key), attrs in sent.items():
        amount = _minor(attrs["amount"])
        if attrs["kind"] == "deposit":
            derived[user] += amount
        elif attrs["kind"] == "withdrawal":
            derived[user] -= amount
        else:
            derived[user] -= amount
            derived[int(attrs["recipient_id"])] += amount  # type: ignore[call-overload]
    a = ledger_accounts
    wallets = sa.select(a.c.user_id, a.c.balance).where(
        a.c.currency == "EUR", a.c.user_id.is_not(None)
    )
    with snapshot(engine) as conn:
        stored = {row.user_id: row.balance for row in conn.execute(wallets)}
    return [
        f"user {user}: acknowledged operations give {derived[user]}, stored {stored.get(user)}"
        for user in sorted(set(derived) | set(stored))
        if derived[user] != stored.get(user, 0)
    ][:10]


def _minor(amount: object) -> int:
    return to_minor(Decimal(str(amount)), 2)  # the drills move EUR only


def _lost(engine: sa.Engine, acknowledged: dict[tuple[int, str], int]) -> int:
    posted = _keyed(engine)
    return sum(1 for key, tx_id in acknowledged.items() if tx_id not in posted.get(key, []))


def _chain_verifies(engine: sa.Engine, base: str) -> list[str]:
    """`verify_chain` over HTTP (the product's own check) and in the checker's snapshot."""
    problems = []
    answer = send(base, "GET", "/admin/ledger/verify", headers=OPERATOR, timeout=60)
    if answer.status != 200 or not answer.body["data"]["valid"]:
        problems.append(f"/admin/ledger/verify: {answer.status} {answer.body}")
    with snapshot(engine) as conn:
        report = verify_chain(conn)
    if not report.valid:
        problems.append(f"verify_chain: {report}")
    return problems
