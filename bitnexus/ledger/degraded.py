"""The ledger's degraded state, kept in the database so that every process obeys it.

A verification that finds damage records why (`mark`); from then on a trigger refuses
every new block (migration 0004), whichever process tries. Only an operator clears it,
and only after the whole chain verifies again (`clear`, `bitnexus ledger clear-degraded`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from bitnexus.database.engine import snapshot
from bitnexus.database.schema import utcnow
from bitnexus.ledger.schema import ledger_degraded
from bitnexus.ledger.values import ChainReport
from bitnexus.ledger.verify import verify_chain

REFUSAL = "ledger is degraded"  # the triggers' message (migration 0004)


def reason(conn: Connection) -> str | None:
    """Why the ledger is degraded, or None when it is not."""
    return conn.execute(sa.select(ledger_degraded.c.reason)).scalar()


def mark(engine: Engine, why: str) -> None:
    """Record the damage (the first reason stays until it is cleared)."""
    with engine.begin() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        row = {"id": 1, "reason": why[:2000], "since": utcnow()}
        conn.execute(insert(ledger_degraded).values(row).on_conflict_do_nothing())


def is_refusal(exc: DBAPIError) -> bool:
    """Whether a write failed because the ledger is degraded."""
    return REFUSAL in str(exc.orig)


def clear(engine: Engine) -> ChainReport:
    """Verify the whole chain; clear the degraded state only if it is valid. The report."""
    with snapshot(engine) as conn:
        report = verify_chain(conn)
    if report.valid:
        with engine.begin() as conn:
            conn.execute(sa.delete(ledger_degraded))
    return report
