"""The /health probe: one prober thread shared by concurrent checks, each answered by a
ping that started after it asked; the database probe on a connection of its own."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from bitnexus.database.probe import DatabaseProbe
from web.probe import SharedProbe

WAIT = 10.0


def test_a_check_is_answered_by_a_ping_started_after_it_asked():
    started = threading.Semaphore(0)
    releases = [threading.Event(), threading.Event()]
    verdicts = iter([(releases[0], None), (releases[1], ConnectionRefusedError("down"))])

    def ping() -> None:  # the first ping answers, the second finds the database down
        release, error = next(verdicts)
        started.release()
        assert release.wait(WAIT)
        if error is not None:
            raise error

    probe = SharedProbe(ping)
    answers: dict[str, bool] = {}
    first = threading.Thread(target=lambda: answers.update(first=probe.answers(WAIT)))
    first.start()
    assert started.acquire(timeout=WAIT)  # the first ping is in flight
    later = threading.Thread(target=lambda: answers.update(later=probe.answers(WAIT)))
    later.start()
    releases[0].set()
    first.join(WAIT)
    assert answers == {"first": True}
    assert started.acquire(timeout=WAIT)  # the later check needs a ping of its own
    releases[1].set()
    later.join(WAIT)
    assert answers == {"first": True, "later": False}


def test_a_hung_ping_answers_no_within_the_deadline():
    release = threading.Event()
    probe = SharedProbe(lambda: release.wait(WAIT))
    try:
        assert probe.answers(0.2) is False
    finally:
        release.set()


def test_the_database_probe_answers_and_reconnects(engine, backend, terminate_backends):
    probe = DatabaseProbe(engine, deadline=2.0)
    try:
        probe()
        if backend == "postgresql":
            assert terminate_backends() >= 1  # its own connection among them
            with pytest.raises(Exception):  # noqa: B017 - psycopg's error for a killed backend
                probe()
            probe()  # a new connection
    finally:
        probe.close()


def test_the_database_probe_fails_fast_when_nothing_listens(engine, backend):
    if backend != "postgresql":
        pytest.skip("a server that is not there: PostgreSQL only")
    gone = sa.create_engine(engine.url.set(port=1))
    probe = DatabaseProbe(gone, deadline=2.0)
    with pytest.raises(Exception):  # noqa: B017 - connection refused, as psycopg reports it
        probe()
