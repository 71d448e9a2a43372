"""The bank workload over HTTP (after Jepsen's "bank" test): funded users, client threads
making random transfers with an Idempotency-Key (retried with the same key on a 5xx, a
timeout or a refused connection), and readers taking snapshots of all balances."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from bank_support import START_MINOR, snapshot_problem
from drill_http import Answer, bearer, send

from bitnexus.common.money import format_minor

PASSWORD = "correct horse battery staple"
INSUFFICIENT = {"errors": {"amount": ["insufficient funds"]}}
_KEYS = itertools.count()  # idempotency keys unique across every Bank of the session
RETRY_PAUSE = (0.05, 0.5)  # a client's pause before a retry, growing: pacing, not sync
DUPLICATE_EVERY = 10  # every tenth acknowledged transfer is delivered again, as a client
# that never saw its answer would: the replay path runs in every drill, not only by luck


@dataclass
class User:
    id: int
    token: str


@dataclass
class Stats:
    """What the clients saw; written under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    retried: int = 0
    acknowledged: dict[tuple[int, str], int] = field(default_factory=dict)  # (user, key) -> id
    sent: dict[tuple[int, str], dict[str, object]] = field(default_factory=dict)  # acked attrs
    replayed: int = 0  # answers with Idempotent-Replayed: true
    replayed_on_retry: int = 0  # of those, on a retry after a 5xx, a timeout or a reset
    refused: int = 0  # 422 insufficient funds: a final answer
    statuses: Counter[int | str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)  # answers no drill allows
    unresolved: list[str] = field(default_factory=list)  # keys given up on at the deadline
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds)
    slow_503: list[float] = field(default_factory=list)  # 503s slower than promised
    shed: list[float] = field(default_factory=list)  # how long each 503 took

    def failed(self) -> dict[str, int]:
        return {str(k): v for k, v in sorted(self.statuses.items(), key=str) if k != 201}


class Bank:
    """Users, funds and the threads that move them; `run` until `stop` is set."""

    def __init__(self, base: Callable[[], str], engine: sa.Engine, users: int = 8) -> None:
        self.base = base
        self.engine = engine
        self.size = users
        self.users: list[User] = []
        self.stats = Stats()
        self.snapshots = 0
        self.problems: list[str] = []
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.retry_deadline = 90.0  # a key is retried this long before it counts as lost

    @property
    def total(self) -> int:
        return self.size * START_MINOR

    def open_accounts(self) -> None:
        """Register, log in and fund each user over HTTP."""
        for n in range(self.size):
            email = f"bank{n}@example.com"
            user = {"email": email, "name": f"Bank {n}", "password": PASSWORD}
            created = send(self.base(), "POST", "/api/v1/auth/register", {"user": user})
            assert created.status == 201, created.body
            login = {"email": email, "password": PASSWORD}
            answer = send(self.base(), "POST", "/api/v1/auth/login", login)
            assert answer.status == 200, answer.body
            account = User(created.body["data"]["id"], answer.body["data"]["token"])
            deposit = {"kind": "deposit", "amount": format_minor(START_MINOR, 2), "currency": "EUR"}
            final = self.post_until_final(account, deposit, f"fund-{n}")
            assert final.status == 201, final.body
            self.users.append(account)

    def start(self, clients: int, readers: int = 1, seed: int = 0) -> None:
        for n in range(clients):
            self._spawn(self._client, random.Random(seed * 1000 + n), f"bank-client-{n}")
        for n in range(readers):
            self._spawn(self._reader, None, f"bank-reader-{n}")

    def finish(self, timeout: float = 120.0) -> None:
        """Stop, and let each client settle the key it is on (bounded by its deadline)."""
        self.stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        assert not alive, f"workload threads still running: {alive}"

    def _spawn(self, target: Callable[..., None], arg: object, name: str) -> None:
        thread = threading.Thread(target=target, args=(arg,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _client(self, rng: random.Random) -> None:
        while not self.stop.is_set():
            sender, recipient = rng.sample(self.users, 2)
            amount = rng.randint(1, START_MINOR // 4)
            attrs = {
                "kind": "transfer",
                "amount": format_minor(amount, 2),
                "currency": "EUR",
                "recipient_id": recipient.id,
            }
            key = f"k{next(_KEYS)}"
            first = self.post_until_final(sender, attrs, key)
            if first.status == 201 and first.body["data"]["id"] % DUPLICATE_EVERY == 0:
                again = self.post_until_final(sender, attrs, key)
                if again.status != 201 or again.body != first.body:
                    with self.stats.lock:
                        self.stats.unexpected.append(f"{key} delivered again: {again.status}")

    def post_until_final(self, user: User, attrs: dict[str, object], key: str) -> Answer:
        """Post under `key` until a final answer (a 201 or a 4xx) or the retry deadline."""
        headers = {**bearer(user.token), "idempotency-key": key}
        deadline = time.monotonic() + self.retry_deadline
        pause = RETRY_PAUSE[0]
        attempt = 0
        while True:
            answer = send(
                self.base(), "POST", "/api/v1/transactions", {"transaction": attrs}, headers
            )
            self._count(answer, attempt)
            if not answer.retryable:
                self._settle(user, key, attrs, answer)
                return answer
            if time.monotonic() > deadline:
                with self.stats.lock:
                    self.stats.unresolved.append(f"{user.id}/{key}: last {answer.status}")
                return answer
            attempt += 1
            time.sleep(pause)  # pacing a retry, as a real client would
            pause = min(pause * 2, RETRY_PAUSE[1])

    def _count(self, answer: Answer, attempt: int) -> None:
        with self.stats.lock:
            self.stats.requests += 1
            self.stats.retried += attempt > 0
            if answer.headers.get("idempotent-replayed") == "true":
                self.stats.replayed += 1
                self.stats.replayed_on_retry += attempt > 0
            self.stats.statuses[answer.status] += 1
            self.stats.latencies.append((time.monotonic(), answer.seconds))
            if answer.status == 503 and "retry-after" not in answer.headers:
                self.stats.unexpected.append("503 without Retry-After")
            if answer.status == 503:
                self.stats.shed.append(answer.seconds)
            if answer.status == 503 and answer.seconds > 5.0:
                self.stats.slow_503.append(answer.seconds)
            if isinstance(answer.status, int) and answer.status >= 500:
                text = answer.raw.decode(errors="replace")
                if "Traceback" in text or "SELECT" in text:
                    self.stats.unexpected.append(f"{answer.status} leaks internals: {text[:200]}")

    def _settle(self, user: User, key: str, attrs: dict[str, object], answer: Answer) -> None:
        with self.stats.lock:
            if answer.status == 201:
                self.stats.acknowledged[(user.id, key)] = answer.body["data"]["id"]
                self.stats.sent[(user.id, key)] = attrs
            elif answer.status == 422 and answer.body == INSUFFICIENT:
                self.stats.refused += 1
            else:
                self.stats.unexpected.append(f"{key}: {answer.status} {answer.body}")

    def _reader(self, _arg: object) -> None:
        while not self.stop.wait(0.05):  # a snapshot every 50 ms: pacing
            try:
                problem = snapshot_problem(self.engine, self.total)
            except sa.exc.OperationalError:
                continue  # the database is down (drill 4): nothing to read
            self.snapshots += 1
            if problem is not None:
                self.problems.append(problem)
