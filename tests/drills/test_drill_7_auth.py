"""Drill 7: authentication abuse against a live server with two workers: repeated failed
logins are rate-limited (429 + Retry-After), forged, unsigned, expired and orphaned tokens
are refused, one user can never read or move another's money, and no response carries a
password hash, a traceback or SQL."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import jwt
import pytest
from drill_bank import PASSWORD, Bank
from drill_check import Summary
from drill_http import Answer, bearer, send
from drill_report import record
from drill_server import SECRET, make_admin

from web import tokens

# Per worker process: 5 failures per account and 20 per client address in 5 minutes
# (web/login_limits.py); two workers may let through up to twice as many.
WORKERS = 2
ACCOUNT_LIMIT, CLIENT_LIMIT = 5, 20
LEAKS = ("$argon2", "password_hash", "Traceback", "SELECT ", "INSERT ", "psycopg", "sqlalchemy")


@pytest.fixture
def users(bank: Bank):
    return bank.users[:3]


def test_failed_logins_for_one_account_are_limited(server, users, drill_engine):
    email = "bank0@example.com"
    answers = _fail_until_limited(
        ACCOUNT_LIMIT, lambda n: _login(server.base, email, "wrong password!")
    )
    # While limited, even the right password is refused: guessing cannot go on.
    right = [_login(server.base, email, PASSWORD) for _ in range(2 * WORKERS)]
    assert {a.status for a in right} == {429}, [a.status for a in right]
    assert right[0].body == {"errors": {"detail": "Too Many Requests"}}
    assert all(int(a.headers["retry-after"]) > 0 for a in right)
    # Another account from another address is not affected.
    other = _login(server.base, "bank1@example.com", PASSWORD, client="10.0.0.9")
    assert other.status == 200
    summary = Summary("7 login rate limit (one account)")
    summary.figures.update(attempts=len(answers), first_429=_first(answers, 429))
    record(summary)


def test_failed_logins_from_one_client_are_limited(server, users):
    answers = _fail_until_limited(
        CLIENT_LIMIT,
        lambda n: _login(server.base, f"nobody{n}@example.com", "wrong password!", "10.0.0.7"),
    )
    # While the address is limited, even a right password from it is refused.
    right = [_login(server.base, "bank1@example.com", PASSWORD, "10.0.0.7") for _ in range(4)]
    assert {a.status for a in right} == {429}, [a.status for a in right]
    assert all(int(a.headers["retry-after"]) > 0 for a in right)
    summary = Summary("7 login rate limit (one client)")
    summary.figures.update(attempts=len(answers), first_429=_first(answers, 429))
    record(summary)


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_bad_tokens_are_refused_everywhere(server, users):
    victim = users[0]
    now = int(time.time())
    claims = {"sub": str(victim.id), "role": "admin", "iat": now, "exp": now + 3600}
    tokens = {
        "other key": jwt.encode(claims, "another-key-of-a-decent-length-0123456789", "HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, SECRET, "HS256"),
        "HS512": jwt.encode(claims, SECRET, "HS512"),
        "garbage": "not.a.token",
    }
    routes = [
        ("GET", "/api/v1/auth/me", None),
        ("GET", "/api/v1/transactions", None),
        *_money_routes(victim.id, users[1].id),
    ]
    for what, token in tokens.items():
        for method, path, body in routes:
            answer = send(server.base, method, path, body, bearer(token))
            assert answer.status == 401, (what, method, path, answer.status, answer.body)
    assert _balance(server.base, victim) == "100.00"


def test_a_deleted_users_token_moves_nothing(server, bank, users):
    gone = users[2]
    refund = {"kind": "withdrawal", "amount": "100.00", "currency": "EUR"}
    assert bank.post_until_final(gone, refund, "empty-before-delete").status == 201
    admin = bearer(tokens.issue(SECRET, make_admin(server), "admin", generation=0))
    history = f"/api/v1/ledger/transactions/{gone.id}"
    before = send(server.base, "GET", history, None, admin)
    deleted = send(server.base, "DELETE", f"/api/v1/users/{gone.id}", None, admin)
    assert deleted.status == 204, deleted.body
    deposit = {"transaction": {"kind": "deposit", "amount": "5.00", "currency": "EUR"}}
    seen = {
        (method, path): send(server.base, method, path, body, bearer(gone.token)).status
        for method, path, body in [
            ("GET", "/api/v1/auth/me", None),
            ("POST", "/api/v1/transactions", deposit),
            ("GET", f"/api/v1/users/{gone.id}/balances", None),
        ]
    }
    # The token names a user who no longer exists: refused before any route runs.
    assert set(seen.values()) == {401}, seen
    after = send(server.base, "GET", history, None, admin)
    assert before.status == 200 and before.body["data"], before.body  # the refund, at least
    assert (after.status, after.body) == (before.status, before.body)  # nothing moved


def test_one_user_cannot_touch_anothers_money(server, bank, users):
    thief, victim = users[0], users[1]
    tx = bank.post_until_final(
        victim,
        {"kind": "transfer", "amount": "1.00", "currency": "EUR", "recipient_id": users[2].id},
        "victims-own",
    )
    victim_tx = tx.body["data"]["id"]
    before = _balance(server.base, victim)
    seen: list[tuple[str, str, int | str]] = []
    for method, path, body in [
        *_money_routes(victim.id, thief.id),
        ("GET", f"/api/v1/transactions/{victim_tx}", None),
        ("GET", f"/api/v1/ledger/verify/{victim_tx}", None),
        ("PATCH", f"/api/v1/users/{victim.id}", {"user": {"email": "mine@example.com"}}),
        ("PUT", f"/api/v1/users/{victim.id}", {"user": {"password": "taken over 123"}}),
        ("DELETE", f"/api/v1/users/{victim.id}", None),
        ("GET", "/api/v1/users", None),
        ("GET", "/admin/supervision", None),
        ("GET", "/admin/ledger/verify", None),
    ]:
        answer = send(server.base, method, path, body, bearer(thief.token))
        seen.append((method, path, answer.status))
        _no_leak(answer)
        assert answer.status in (400, 401, 403, 404, 422), (method, path, answer.status)
    # Money moves only from the caller's own wallet, whatever the body says.
    for attrs in [
        {
            "kind": "transfer",
            "amount": "5.00",
            "currency": "EUR",
            "recipient_id": thief.id,
            "user_id": victim.id,
            "sender_id": victim.id,
        },
        {"kind": "withdrawal", "amount": "5.00", "currency": "EUR", "user_id": victim.id},
    ]:
        answer = bank.post_until_final(thief, attrs, f"theft-{attrs['kind']}")
        _no_leak(answer)
        # The transfer names the thief as recipient of their own money: refused; the
        # withdrawal takes the thief's own money, whatever ids the body adds.
        if attrs["kind"] == "transfer":
            assert answer.status == 422, answer.body
        else:
            assert answer.status == 201, answer.body
            assert answer.body["data"]["user_id"] == thief.id
    assert _balance(server.base, victim) == before
    summary = Summary("7 cross-user access")
    summary.figures.update(routes_tried=len(seen), statuses=sorted({s for *_, s in seen}))
    record(summary)


def _money_routes(victim: int, other: int) -> list[tuple[str, str, object]]:
    transfer = {"kind": "transfer", "amount": "1.00", "currency": "EUR", "recipient_id": other}
    return [
        ("GET", f"/api/v1/users/{victim}", None),
        ("GET", f"/api/v1/users/{victim}/balances", None),
        ("GET", f"/api/v1/ledger/transactions/{victim}", None),
        ("POST", "/api/v1/transactions", {"transaction": transfer}),
    ]


def _login(base: str, email: str, password: str, client: str = "127.0.0.1") -> Answer:
    # X-Forwarded-For is honoured only from a trusted proxy: the drill trusts loopback.
    headers = {"x-forwarded-for": client}
    answer = send(
        base, "POST", "/api/v1/auth/login", {"email": email, "password": password}, headers
    )
    _no_leak(answer)
    return answer


def _fail_until_limited(limit: int, attempt: Callable[[int], Answer]) -> list[Answer]:
    """Failed logins (``attempt(n)``) until every worker is at ``limit``.

    Each worker counts its own failures and answers at most ``limit`` of them with 401,
    so ``WORKERS * limit`` 401s mean every worker has reached it, whichever worker the
    kernel handed each connection to. 429s on the way carry a Retry-After.
    """
    answers: list[Answer] = []
    while sum(a.status == 401 for a in answers) < WORKERS * limit:
        assert len(answers) < 50 * WORKERS * limit, "a worker never answered a login"
        answer = attempt(len(answers))
        assert answer.status in (401, 429), (answer.status, answer.body)
        assert answer.status == 401 or int(answer.headers["retry-after"]) > 0
        answers.append(answer)
    return answers


def _balance(base: str, user) -> str | None:
    answer = send(base, "GET", f"/api/v1/users/{user.id}/balances", None, bearer(user.token))
    assert answer.status == 200, answer.body
    return next((b["balance"] for b in answer.body["data"] if b["currency"] == "EUR"), None)


def _no_leak(answer: Answer) -> None:
    text = answer.raw.decode(errors="replace")
    leaked = [word for word in LEAKS if word in text]
    assert not leaked, (answer.status, leaked, text[:300])


def _first(answers: list[Answer], status: int) -> int | None:
    return next((n + 1 for n, a in enumerate(answers) if a.status == status), None)
