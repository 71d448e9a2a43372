"""Drill 6: hostile input against a live server. Every request gets its documented 4xx
(or, for strings that merely look dangerous, is stored and returned verbatim), nothing
answers 5xx or leaks internals, and the ledger is exactly as it was."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from drill_bank import Bank
from drill_check import Summary
from drill_http import Answer, bearer, send
from drill_mode import pick
from drill_report import record
from drill_server import OPERATOR
from unicode_property import restart_totals, routes, run_property

from bitnexus.database.engine import snapshot
from bitnexus.ledger.schema import ledger_accounts, ledger_transactions

BAD_REQUEST = {"errors": {"detail": "Bad Request"}}
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "SELECT ", "$argon2", 'File "')
INJECTIONS = [
    "Robert'); DROP TABLE users;--",
    "' OR '1'='1",
    "1; SELECT pg_sleep(10)--",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\u202e\u0000 null and bidi",
    "${jndi:ldap://x}",
]
HUGE_NESTING = b"[" * 100_000 + b"]" * 100_000


def transfer(**overrides: object) -> dict[str, object]:
    return {"kind": "transfer", "amount": "1.00", "currency": "EUR", "recipient_id": 2, **overrides}


# (what, raw body, expected status)
RAW_BODIES = [
    ("malformed", b'{"transaction": {"kind": "deposit",', 400),
    ("truncated", b'{"transaction": {"kind": "deposit", "amount": "1.0', 400),
    ("invalid utf-8", b'{"transaction": {"description": "\xff\xfe\xc3\x28"}}', 400),
    ("lone surrogate", b'{"transaction": {"description": "\\ud800"}}', 400),  # not Unicode
    ("deep nesting", HUGE_NESTING, 400),
    (
        "deep nesting in a field",
        b'{"transaction": {"kind": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        400,
    ),
    ("NaN literal", b'{"transaction": {"kind": "deposit", "amount": NaN, "currency": "EUR"}}', 400),
    (
        "Infinity literal",
        b'{"transaction": {"kind": "deposit", "amount": Infinity, "currency": "EUR"}}',
        400,
    ),
    (
        "huge number",
        b'{"transaction": {"kind": "deposit", "amount": 1e999999, "currency": "EUR"}}',
        400,
    ),
    (
        "huge integer",
        b'{"transaction": {"kind": "deposit", "amount": ' + b"9" * 5000 + b', "currency": "EUR"}}',
        400,
    ),
    (
        "oversized body",
        b'{"transaction": {"description": "' + b"x" * (2 * 1024 * 1024) + b'"}}',
        413,
    ),
    ("not an object", b"[1, 2, 3]", 400),
    ("empty wrapper", b'{"transaction": null}', 400),
]
AMOUNTS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "0",
    "-0.0",
    "0e0",
    "-1e2",
    "1e999999",
    "1E+999999",
    "1e-999999",
    "0.001",
    " 1",
    "1_000",
    "0x10",
    "1.2.3",
    "",
    "١٢",
]
WRONG_TYPES = {
    "kind": [1, True, None, [], {}, "Deposit", "transfer "],
    "amount": [True, [], {}, None, [1]],
    "currency": [1, True, [], {}, "eur", "EURO" * 100],
    "recipient_id": ["abc", 1.5, True, [], {}, -1, 0, 2**63, "2x"],
    "description": [1, True, [], {}, "x" * 501],
}


@pytest.fixture
def user(bank: Bank):
    return bank.users[0]


def test_hostile_input_changes_nothing(server, bank, user, drill_engine):
    before = _ledger_state(drill_engine)
    outcomes: list[tuple[str, int | str]] = []

    def expect(what: str, answer: Answer, *statuses: int) -> None:
        outcomes.append((what, answer.status))
        assert answer.status in statuses, (what, answer.status, answer.body)
        text = answer.raw.decode(errors="replace")
        assert not [w for w in LEAKS if w in text], (what, text[:300])

    auth = {**bearer(user.token)}
    for what, raw, status in RAW_BODIES:
        answer = send(server.base, "POST", "/api/v1/transactions", raw=raw, headers=auth)
        expect(what, answer, status)
        if status == 400:
            assert answer.body == BAD_REQUEST, (what, answer.body)
    for amount in AMOUNTS:
        body = {"transaction": {"kind": "deposit", "amount": amount, "currency": "EUR"}}
        expect(
            f"amount {amount!r}", send(server.base, "POST", "/api/v1/transactions", body, auth), 422
        )
    for field, values in WRONG_TYPES.items():
        for value in values:
            body = {"transaction": transfer(**{field: value})}
            answer = send(server.base, "POST", "/api/v1/transactions", body, auth)
            expect(f"{field}={value!r:.40}", answer, 422)
            assert field in answer.body["errors"], (field, value, answer.body)
    long_key = {**auth, "idempotency-key": "k" * 256}
    body = {"transaction": transfer(amount="1.00")}
    expect("long key", send(server.base, "POST", "/api/v1/transactions", body, long_key), 422)
    for path in [
        "/admin/supervision/../../../etc/passwd/crash",
        "/admin/supervision/root%2F..%2F..%2Fetc/crash",
        "/admin/supervision/root/services/..%2F..%2Fledger/crash",
        "/admin/supervision/root/services/ledger%00/crash",
        "/admin/supervision/root/nothing/terminate",
        "/admin/supervision/" + "a/" * 2000 + "crash",
    ]:
        expect(f"path {path[:50]}", send(server.base, "POST", path, None, OPERATOR), 400, 404, 414)
    for what, value in [("nested", {"a": {"b": [1, {"c": None}]}}), ("number", 12)]:
        body = {
            "transaction": {"kind": "deposit", "amount": "1.00", "currency": "EUR", "junk": value}
        }
        answer = send(server.base, "POST", "/api/v1/transactions", {**body, "junk": value}, auth)
        expect(f"unknown field {what}", answer, 201)  # unknown fields are ignored, as Ecto does
    for path in [  # NUL reaches no query: PostgreSQL text cannot hold it
        "/api/v1/products?q=%00",
        "/api/v1/products?category=a%00b",
        "/api/v1/products?after=%00",
        "/api/v1/transactions?currency=EUR%00",
        f"/api/v1/ledger/transactions/{user.id}?after=%00",
    ]:
        expect(f"query {path}", send(server.base, "GET", path, None, auth), 200, 400, 422)
    too_long = send(server.base, "GET", "/api/v1/products?q=" + "x" * 9000, None, auth)
    expect("request line over the limit", too_long, 414)
    assert too_long.body == {"errors": {"detail": "Request-URI Too Long"}}
    big_header = {**auth, "x-junk": "y" * 9000}
    too_big = send(server.base, "GET", "/api/v1/products", None, big_header)
    expect("header over the limit", too_big, 400, 431)
    assert isinstance(too_big.body, dict), too_big.body
    nul_login = {"email": "bank0\u0000@example.com", "password": "x\u0000"}
    expect("NUL login", send(server.base, "POST", "/api/v1/auth/login", nul_login), 401, 422)
    stored = _verbatim_strings(server.base, user)
    after = _ledger_state(drill_engine)
    assert after["balances"] == _plus_deposits(before["balances"], user.id, 2 * 100), after
    assert after["transactions"] == before["transactions"] + 2
    tree = send(server.base, "GET", "/ready")
    assert tree.status == 200, tree.body
    summary = Summary("6 hostile input")
    summary.figures.update(
        requests=len(outcomes),
        stored_verbatim=len(stored),
        statuses=sorted({str(s) for _, s in outcomes}),
        ledger_unchanged_but_the_two_deposits=True,
    )
    record(summary)


def _verbatim_strings(base: str, user) -> list[str]:
    """SQL and HTML injection strings: stored and returned exactly, never executed."""
    stored = []
    for n, text in enumerate(INJECTIONS):
        body = {"user": {"email": f"inject{n}@example.com", "name": text, "password": "pw-" * 4}}
        created = send(base, "POST", "/api/v1/auth/register", body)
        if "\u0000" in text:
            assert created.status == 422, created.body  # PostgreSQL text cannot hold NUL
            continue
        assert created.status == 201, (text, created.body)
        assert created.body["data"]["name"] == text
        assert created.headers["content-type"] == "application/json; charset=utf-8"
        stored.append(text)
    reg = send(base, "GET", "/api/v1/auth/me", None, bearer(user.token))
    assert reg.status == 200
    return stored


def _ledger_state(engine: sa.Engine) -> dict[str, object]:
    with snapshot(engine) as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(ledger_transactions)).scalar()
        rows = conn.execute(
            sa.select(
                ledger_accounts.c.user_id, ledger_accounts.c.currency, ledger_accounts.c.balance
            )
        )
        balances = {(r.user_id, r.currency): r.balance for r in rows}
    return {"transactions": count, "balances": balances}


def _plus_deposits(balances: dict, user_id: int, minor: int) -> dict:
    changed = dict(balances)
    changed[(user_id, "EUR")] += minor
    changed[(None, "EUR")] -= minor
    return changed


def test_hostile_unicode_reaches_every_route_and_crashes_nothing(server, bank, user):
    """The hostile-Unicode property (tests/web/unicode_property.py) against the drill's
    server, both workers: no 5xx, and no restart in either worker's tree."""
    per_route = int(pick(10, 200))
    auths = [{}, bearer(user.token), OPERATOR]
    before = _restarts_by_worker(server.base)
    statuses: dict[int, int] = {}

    def count(_sent: object, status: int) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    started = time.monotonic()
    sent = run_property(server.base, auths, per_route, count)
    seconds = time.monotonic() - started
    after = _restarts_by_worker(server.base)
    assert after == before, (before, after)
    summary = Summary("6 hostile Unicode property")
    summary.figures.update(
        requests=sent,
        routes=len(routes()),
        seconds=round(seconds, 1),
        statuses=dict(sorted(statuses.items())),
        restarts=0,
    )
    record(summary)


def _restarts_by_worker(base: str) -> dict[int, dict[str, int]]:
    """Each worker's restart counts, asked until both workers have answered."""
    seen: dict[int, dict[str, int]] = {}
    for _ in range(200):  # connection-close requests: the workers take turns at random
        tree = send(base, "GET", "/admin/supervision", None, OPERATOR).body["data"]
        seen[tree["pid"]] = restart_totals(tree)
        if len(seen) == 2:
            return seen
    raise AssertionError(f"only workers {sorted(seen)} answered")
