"""The official `phoenix` JS client under Node, driven line by line (client.js), and the
HTTP helpers the channel tests share."""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from install_lock import install_lock

from web import tokens

HERE = Path(__file__).parent
SECRET = "live-secret-key-for-the-channel-tests-0123456789"
OPERATOR_TOKEN = "live-operator-token-channels"
PASSWORD = "channel-password-0123"
WAIT = 20.0  # seconds an awaited event may take on a busy 2-core machine

Event = dict[str, Any]


def install_client() -> None:
    """`npm install` of the packages pinned in package.json into tests/channels/node_modules."""
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"]
    with install_lock("npm"):
        if all((HERE / "node_modules" / name / "package.json").exists() for name in pinned):
            return
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, f"npm install failed:\n{done.stdout}\n{done.stderr}"


def open_page(
    chromium: str, url: str, *steps: dict[str, str], size: tuple[int, int] = (1280, 900)
) -> str:
    """The DOM of ``url`` in headless Chromium after page.js has run ``steps`` on it
    (``{"until": js}``, ``{"check": js}``, ``{"click": selector}``, ``{"screenshot": path}``)."""
    install_client()  # page.js drives Chromium with playwright-core from package.json
    command = {
        "chromium": chromium,
        "url": url,
        "width": size[0],
        "height": size[1],
        "timeout_ms": int(WAIT * 1000),
        "steps": list(steps),
    }
    done = subprocess.run(
        ["node", str(HERE / "page.js"), json.dumps(command)],
        capture_output=True,
        text=True,
        timeout=WAIT * (len(steps) + 1),
    )
    assert done.returncode == 0, f"page.js failed:\n{done.stderr}"
    return done.stdout


class Node:
    """One Node process running client.js: sockets and channels by id, events as dicts."""

    def __init__(self, log: Path) -> None:
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            ["node", str(HERE / "client.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        self.events: list[Event] = []
        self._queue: queue.Queue[Event | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.wait(lambda e: e["type"] == "ready")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(json.loads(line))
        self._queue.put(None)

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def _pump(self, timeout: float) -> bool:
        try:
            event = self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return False
        assert event is not None, "the Node client exited"
        self.events.append(event)
        return True

    def wait(
        self, predicate: Callable[[Event], bool], timeout: float = WAIT, after: int = 0
    ) -> Event:
        """The first event matching ``predicate`` (from the ``after``-th event seen on)."""
        deadline = time.monotonic() + timeout
        seen = after
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            if not self._pump(deadline - time.monotonic()):
                raise AssertionError(f"no matching event within {timeout} s: {self.events[-20:]}")

    def wait_count(
        self, predicate: Callable[[Event], bool], count: int, timeout: float = WAIT * 3
    ) -> list[Event]:
        """Wait until ``count`` events match; all of them."""
        deadline = time.monotonic() + timeout
        found: list[Event] = []
        seen = 0
        while True:
            found += [e for e in self.events[seen:] if predicate(e)]
            seen = len(self.events)
            if len(found) >= count:
                return found
            if not self._pump(deadline - time.monotonic()):
                raise AssertionError(f"{len(found)} of {count} events: {self.events[-10:]}")

    def drain(self, seconds: float) -> None:
        """Collect whatever arrives for ``seconds`` (to check that nothing more does)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())

    def messages(self, socket_id: str, topic: str, event: str = "new_transaction") -> list:
        return [
            e["payload"]
            for e in self.events
            if e["type"] == "message"
            and e["id"] == socket_id
            and e["topic"] == topic
            and e["event"] == event
        ]

    def connect(self, socket_id: str, url: str, token: str, **options: Any) -> None:
        options = {"heartbeat_ms": 1000, **options}  # the tests' server closes after 3 s
        self.send(op="connect", id=socket_id, url=url, token=token, **options)

    def join(self, socket_id: str, topic: str, **options: Any) -> Event:
        """Join and wait for the reply; the join event ({"status", "response"})."""
        mark = len(self.events)
        self.send(op="join", id=socket_id, topic=topic, **options)
        return self.wait(
            lambda e: e["type"] == "join" and e["id"] == socket_id and e["topic"] == topic,
            after=mark,
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            self.send(op="exit")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@dataclass(frozen=True)
class User:
    id: int
    token: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/socket"


IDLE_TIMEOUT = 3  # seconds; the clients of these tests heartbeat every second
_emails = itertools.count(1)


def server_env(**extra: str) -> dict[str, str]:
    return {
        "BITNEXUS_SECRET_KEY": SECRET,
        "BITNEXUS_ADMIN_TOKEN": OPERATOR_TOKEN,
        "BITNEXUS_ARGON2_TIME_COST": "1",
        "BITNEXUS_ARGON2_MEMORY_COST": "64",
        "BITNEXUS_ARGON2_PARALLELISM": "1",
        "BITNEXUS_ACCOUNTS_POOL": "2",
        "BITNEXUS_PRODUCTS_POOL": "2",
        "BITNEXUS_SOCKET_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
        **extra,
    }


def register(live: Any, role: str = "user", database_url: str | None = None) -> User:
    """A new user registered over HTTP, with a JWT for them; an admin is promoted in the
    database (``database_url``), as `bitnexus admin create` does, since the role that
    counts is the stored one."""
    email = f"channels-{role}-{next(_emails)}@example.com"
    attrs = {"email": email, "name": role.title(), "password": PASSWORD}
    if role == "affiliate":
        attrs["role"] = role
    reply = live.request("POST", "/api/v1/auth/register", {"user": attrs})
    assert reply.status == 201, reply.body
    user_id = reply.body["data"]["id"]
    if role == "admin":
        assert database_url is not None, "an admin needs the database to be promoted in"
        engine = sa.create_engine(database_url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    sa.text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": user_id}
                )
        finally:
            engine.dispose()
    return User(user_id, tokens.issue(SECRET, user_id, role, generation=0), role)
