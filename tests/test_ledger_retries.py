"""The ledger's retry of a block on a deadlock (40P01) or a serialization failure
(40001), forced for real on PostgreSQL: the request is answered once the retry commits,
the entry is posted once; past the attempts allowed the caller hears 503 and nothing is
posted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from ledger_support import TIMEOUT, deposit_entry, fund, make_user, waiting_writers

from actors import ledger
from actors.errors import Unavailable
from actors.ledger import Record
from bitnexus.ledger.schema import ledger_accounts, ledger_head, ledger_transactions
from bitnexus.ledger.store import MAX_ATTEMPTS
from supervisors import whereis

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])
# The ledger commits a prepared block, and on a retryable failure records it afresh with
# MAX_ATTEMPTS attempts of its own: a block is tried this many times in all.
ATTEMPTS = 1 + MAX_ATTEMPTS


def _posted(engine: sa.Engine, key: str) -> int:
    t = ledger_transactions
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(t.c.idempotency_key == key)).scalar()


def test_a_deadlock_with_another_session_is_retried(services, engine):
    alice = make_user()
    fund(alice, "1")  # her wallet exists, so the ledger locks its row
    entry = deposit_entry(alice, 100, idempotency_key="after-deadlock", request_hash="h")
    with engine.connect() as other:
        # The ledger's session runs the deadlock check first, so the ledger is the victim.
        other.exec_driver_sql("SET deadlock_timeout = '60s'")
        other.commit()
        with other.begin():
            wallet = ledger_accounts.c.user_id == alice
            other.execute(sa.select(ledger_accounts.c.id).where(wallet).with_for_update()).all()
            future = whereis("ledger").ask(Record(entry), block=False)
            waiting_writers(other)  # the ledger holds the head and waits for the wallet
            # The cycle: this waits for the head. It is granted only once the ledger's
            # transaction was aborted as the deadlock's victim.
            other.execute(sa.select(ledger_head.c.block_index).with_for_update()).all()
            waiting_writers(other)  # the ledger's next attempt, waiting for the head now
        assert future.get(timeout=TIMEOUT).replayed is False
    assert _posted(engine, "after-deadlock") == 1
    assert ledger.verify_chain(timeout=TIMEOUT).valid


@pytest.fixture
def serialization_failures(engine: sa.Engine) -> Iterator[None]:
    """Make the next N block inserts fail with a real 40001 from the server, N set by
    `setval('ledger_test_failures', N)`; removed afterwards (the database is shared)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SEQUENCE ledger_test_failures MINVALUE 0 START 0")
        conn.exec_driver_sql(
            "CREATE FUNCTION ledger_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF (SELECT last_value FROM ledger_test_failures) > 0 THEN "
            "PERFORM setval('ledger_test_failures', "
            "(SELECT last_value FROM ledger_test_failures) - 1); "
            "RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; "
            "END IF; RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER ledger_test_fail BEFORE INSERT ON ledger_blocks "
            "FOR EACH ROW EXECUTE FUNCTION ledger_test_fail()"
        )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER ledger_test_fail ON ledger_blocks")
            conn.exec_driver_sql("DROP FUNCTION ledger_test_fail()")
            conn.exec_driver_sql("DROP SEQUENCE ledger_test_failures")


def _fail_next(engine: sa.Engine, times: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SELECT setval('ledger_test_failures', {times})")


def _failures_left(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT last_value FROM ledger_test_failures").scalar()


def test_serialization_failures_are_retried_up_to_the_limit(
    services, engine, serialization_failures
):
    alice = make_user()
    entry = deposit_entry(alice, 100, idempotency_key="retried", request_hash="h")
    _fail_next(engine, ATTEMPTS - 1)
    assert ledger.record_transaction(entry, timeout=TIMEOUT).replayed is False
    assert _failures_left(engine) == 0  # every failing attempt ran, then one more
    assert _posted(engine, "retried") == 1

    refused = deposit_entry(alice, 100, idempotency_key="given-up", request_hash="h")
    _fail_next(engine, ATTEMPTS)
    with pytest.raises(Unavailable):
        ledger.record_transaction(refused, timeout=TIMEOUT)
    assert _failures_left(engine) == 0
    assert _posted(engine, "given-up") == 0  # told 503, and nothing was posted
    assert ledger.record_transaction(refused, timeout=TIMEOUT).replayed is False  # posts
    assert ledger.verify_chain(timeout=TIMEOUT).valid
