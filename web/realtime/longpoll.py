"""The LongPoll transport (`/socket/longpoll`), which the JS client falls back to.

A session is a `Socket` actor whose transport is a queue of frames: the first GET creates
it and answers `{"status": 410, "token": <session>}`; a GET waits up to WINDOW seconds for
frames (`200` with `messages`, or `204`); a POST carries the client's frames (ndjson).
The session lives in the worker process that created it. A request that reaches another
worker is forwarded through PubSub on the session's topic (`lp:<session>`): frames as
`dispatch`, a poll as `poll`, answered on a reply topic the polling request waits on.
A session not polled for the idle timeout is closed, as a silent WebSocket is.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from actors import pubsub

WINDOW = 5.0  # seconds a poll waits for frames (it holds its request thread that long)
ACK_WAIT = 2.0  # seconds a forwarded poll waits for the owning worker to answer
PREFIX = "lp."
MAX_BATCH = 100  # frames per POST, as Phoenix's
sessions: dict[str, LongPollTransport] = {}  # this process's sessions by id
_lock = threading.Lock()


def topic(sid: str) -> str:
    return f"lp:{sid}"


class LongPollTransport:
    """Frames waiting for the client's next poll; safe from any thread."""

    def __init__(self) -> None:
        self.sid = PREFIX + secrets.token_urlsafe(18)
        self.control_topic = topic(self.sid)
        self.socket: Any = None  # its Socket actor, once started
        self.last_seen = time.monotonic()
        self._frames: list[str] = []
        self._changed = threading.Condition()
        self._closed = False
        self._remote: list[tuple[str, float]] = []  # (reply topic, deadline) of other workers
        with _lock:
            sessions[self.sid] = self

    def send(self, text: str) -> None:
        with self._changed:
            self._frames.append(text)
            self._changed.notify_all()
        self._answer_remote()

    def close(self, code: int = 1000) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        with _lock:
            sessions.pop(self.sid, None)

    def close_now(self, code: int) -> None:
        self.close(code)

    @property
    def closed(self) -> bool:
        return self._closed

    def take(self, window: float) -> list[str] | None:
        """The frames queued within ``window`` seconds ([] for none); None once closed."""
        self.last_seen = time.monotonic()
        deadline = self.last_seen + window
        with self._changed:
            while not self._frames and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            if self._closed and not self._frames:
                return None
            frames, self._frames = self._frames, []
        self.last_seen = time.monotonic()
        return frames

    def poll_from_elsewhere(self, reply: str) -> None:
        """A poll that reached another worker: acknowledge, answer when frames are queued."""
        self.last_seen = time.monotonic()
        pubsub.broadcast(reply, "ack", {})
        with self._changed:
            self._remote.append((reply, time.monotonic() + WINDOW))
        self._answer_remote()

    def _answer_remote(self) -> None:
        with self._changed:
            if not self._frames or not self._remote:
                return
            now = time.monotonic()
            waiting = [(r, d) for r, d in self._remote if d > now]
            if not waiting:
                self._remote = []
                return
            (reply, _deadline), self._remote = waiting[0], waiting[1:]
            frames, self._frames = self._frames, []
        pubsub.broadcast(reply, "messages", {"messages": frames})

    def control(self, event: str, payload: Any) -> None:
        """A request for this session that reached another worker (via its socket)."""
        if event == "poll":
            self.poll_from_elsewhere(payload["reply"])


def find(sid: str) -> LongPollTransport | None:
    return sessions.get(sid)


def poll_elsewhere(sid: str, timeout: float) -> list[str] | None:
    """Poll a session another worker holds: its frames ([] for none), None if no worker
    answers (the session is gone)."""
    mailbox = pubsub.Mailbox()
    reply = f"lp-reply:{secrets.token_urlsafe(12)}"
    pubsub.subscribe(reply, mailbox, timeout)
    try:
        pubsub.broadcast(topic(sid), "poll", {"reply": reply})
        ack = mailbox.get(ACK_WAIT)
        if not isinstance(ack, pubsub.Delivered):
            return None
        answer = mailbox.get(WINDOW + 1.0)
        if isinstance(answer, pubsub.Delivered) and answer.event == "messages":
            return list(answer.payload["messages"])
        return []
    finally:
        pubsub.unsubscribe(reply, mailbox)


def dispatch_elsewhere(sid: str, frames: list[str]) -> None:
    pubsub.broadcast(topic(sid), "dispatch", {"frames": frames})
