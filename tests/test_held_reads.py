"""Reads on a connection kept between them (bitnexus/database/held.py): kept, given back,
deferred on SQLite, and replaced after the server ended it, as the pool would."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from bitnexus.database import held
from bitnexus.database.held import HeldReads
from bitnexus.database.schema import users, utcnow


def _read(reads: HeldReads) -> object:
    with reads.reading() as conn:
        conn.execute(sa.select(sa.literal(1))).scalar_one()
        return conn.connection.dbapi_connection


def test_reads_keep_one_connection_until_closed(engine):
    reads = HeldReads(engine)
    first = _read(reads)
    assert _read(reads) is first
    assert engine.pool.checkedout() == 1
    reads.close()
    assert engine.pool.checkedout() == 0
    assert _read(reads) is not None  # a closed reader connects again
    reads.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_read_on_sqlite_leaves_the_write_lock_free(engine):
    reads = HeldReads(engine)
    now = utcnow()
    row = {"email": "w@example.com", "email_key": "w@example.com", "name": "W",
           "password_hash": "-", "role": "user", "inserted_at": now, "updated_at": now}  # fmt: skip
    try:
        with reads.reading() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 0
            with engine.begin() as writer:  # BEGIN IMMEDIATE: waits if the read held the lock
                writer.execute(users.insert().values(row))
            # A read transaction sees one snapshot: not the row committed since it began.
            assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 0
        with reads.reading() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 1
    finally:
        reads.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_read_that_finds_its_connection_lost_fails_and_the_next_reconnects(
    engine, terminate_backends, monkeypatch
):
    monkeypatch.setattr(held, "PING_AFTER_IDLE", 3600.0)  # not idle: no ping before the read
    reads = HeldReads(engine)
    try:
        _read(reads)
        assert terminate_backends() >= 1
        with pytest.raises(DBAPIError) as lost:
            _read(reads)
        assert lost.value.connection_invalidated  # what the services answer as 503
        _read(reads)
    finally:
        reads.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_one_lost_connection_makes_every_kept_one_checked(engine, terminate_backends, monkeypatch):
    # A server restart ends every connection: one read fails, as through the pool, not one
    # per reader that keeps a connection.
    monkeypatch.setattr(held, "PING_AFTER_IDLE", 3600.0)
    first, second = HeldReads(engine), HeldReads(engine)
    try:
        _read(first), _read(second)
        assert terminate_backends() >= 2
        with pytest.raises(DBAPIError):
            _read(first)
        _read(second)  # pinged, found dead and replaced before the read
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_connection_idle_for_a_while_is_checked_before_a_read(
    engine, terminate_backends, monkeypatch
):
    monkeypatch.setattr(held, "PING_AFTER_IDLE", -1.0)  # every connection counts as idle
    reads = HeldReads(engine)
    try:
        before = _read(reads)
        assert terminate_backends() >= 1
        assert _read(reads) is not before  # replaced before the read, which succeeds
    finally:
        reads.close()
