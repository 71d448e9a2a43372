"""The bank checker: every invariant of the issue, then a printed summary.

Reads the database directly in one REPEATABLE READ snapshot: the checker is a test, and
no HTTP endpoint gives one snapshot of all balances.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from bank_support import snapshot_problem
from drill_bank import Bank
from drill_http import send
from drill_server import OPERATOR

from bitnexus.database.engine import snapshot
from bitnexus.ledger.schema import ledger_transactions
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
    v += _chain_verifies(bank.engine, base)
    summary.figures.update(
        requests=stats.requests,
        acknowledged=len(stats.acknowledged),
        refused_insufficient_funds=stats.refused,
        retried=stats.retried,
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
