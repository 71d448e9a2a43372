"""The socket hub (registered name `socket_hub`): one asyncio event loop per process that
owns every upgraded WebSocket connection, so no socket ever holds a request thread.

A request thread answers the upgrade (101) and hands the connection over; from then on
the loop reads and writes it (framing by `wsproto`), passes each text message to the
connection's `Socket` actor and closes connections silent for longer than the idle
timeout. The `Socket` and `Channel` actors run on this loop too (`supervisors.LoopWorker`);
they write through `WebSocketTransport.send`, which is safe from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import RemoteProtocolError

from supervisors import Worker
from web.realtime import longpoll

logger = logging.getLogger("bitnexus.sockets")

NAME = "socket_hub"
SWEEP_SECONDS = 1.0
MAX_MESSAGE_BYTES = 1 << 20  # a larger client message closes the connection (1009)
MAX_BUFFERED_BYTES = 4 << 20  # a client that reads this far behind is closed (1008)
GOING_AWAY = 1001


@dataclass(frozen=True)
class GetHub:
    """Replies the `Hub` (its methods are safe from any thread)."""


class Hub:
    """The event loop thread and the connections it owns."""

    def __init__(self, idle_timeout: float) -> None:
        self.idle_timeout = idle_timeout
        self.loop = asyncio.new_event_loop()
        self.connections: set[WebSocketTransport] = set()
        self._thread = threading.Thread(target=self._run, name="socket-hub", daemon=True)
        self._thread.start()

    def on_loop(self) -> bool:
        """Whether the calling thread is the loop's."""
        return threading.get_ident() == self._thread.ident

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_later(SWEEP_SECONDS, self._sweep)
        self.loop.run_forever()

    def attach(
        self,
        transport: WebSocketTransport,
        sock: socket.socket,
        on_text: Callable[[str], None],
        on_close: Callable[[], None],
    ) -> None:
        """Serve ``sock`` (already upgraded) on the loop; any thread."""
        transport.on_text, transport.on_close = on_text, on_close

        async def adopt() -> None:
            await self.loop.connect_accepted_socket(lambda: transport, sock)

        asyncio.run_coroutine_threadsafe(adopt(), self.loop)

    def stop(self) -> None:
        """Close every connection (1001, going away), then stop the loop."""

        def close_all() -> None:
            for conn in list(self.connections):
                conn.close_now(GOING_AWAY)
            self.loop.call_later(0.1, self.loop.stop)

        with contextlib.suppress(RuntimeError):  # already stopped
            self.loop.call_soon_threadsafe(close_all)
        self._thread.join(5)

    def _sweep(self) -> None:
        now = time.monotonic()
        for conn in list(self.connections):
            if now - conn.last_seen > self.idle_timeout:
                conn.close_now(1000)
        for session in list(longpoll.sessions.values()):  # a poll may be waiting meanwhile
            if now - session.last_seen > self.idle_timeout + longpoll.WINDOW:
                session.close()
        self.loop.call_later(SWEEP_SECONDS, self._sweep)


class WebSocketTransport(asyncio.Protocol):
    """One WebSocket connection: an asyncio protocol on the hub's loop."""

    control_topic = None  # a LongPoll session's forwarding topic; none for a WebSocket

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.ws = Connection(ConnectionType.SERVER)
        self.on_text: Callable[[str], None] = _ignore
        self.on_close: Callable[[], None] = _nothing
        self.last_seen = time.monotonic()
        self._transport: asyncio.Transport | None = None
        self._parts: list[str] = []
        self._size = 0
        self._closed = False

    # Any thread.

    def send(self, text: str) -> None:
        if self.hub.on_loop():  # a socket or channel actor: they run on the loop
            self._send(text)
            return
        with contextlib.suppress(RuntimeError):  # the loop has stopped: nobody to send to
            self.hub.loop.call_soon_threadsafe(self._send, text)

    def close(self, code: int = 1000) -> None:
        with contextlib.suppress(RuntimeError):
            self.hub.loop.call_soon_threadsafe(self.close_now, code)

    def control(self, event: str, payload: Any) -> None:
        """A WebSocket has no requests elsewhere."""

    # The loop's thread.

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self.hub.connections.add(self)
        self.last_seen = time.monotonic()

    def data_received(self, data: bytes) -> None:
        self.last_seen = time.monotonic()
        try:
            self.ws.receive_data(data)
            for event in self.ws.events():
                self._event(event)
        except RemoteProtocolError as exc:
            logger.info("websocket protocol error: %s", exc)
            self._abort()

    def eof_received(self) -> bool:
        with contextlib.suppress(RemoteProtocolError):
            self.ws.receive_data(None)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.connections.discard(self)
        self._closed = True
        self.on_close()

    def _event(self, event: object) -> None:
        match event:
            case TextMessage(data=data, message_finished=finished):
                self._parts.append(data)
                self._size += len(data)
                if self._size > MAX_MESSAGE_BYTES:
                    self.close_now(1009)
                elif finished:
                    text = "".join(self._parts)
                    self._parts, self._size = [], 0
                    self.on_text(text)
            case BytesMessage():
                self.close_now(1003)  # the JSON serializers speak text only
            case Ping():
                self._write(self.ws.send(event.response()))
            case CloseConnection():
                if not self._closed:
                    self._closed = True
                    self._write(self.ws.send(event.response()))
                    self._transport.close()

    def _send(self, text: str) -> None:
        if self._closed or self._transport is None:
            return
        if self._transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            self.close_now(1008)
            return
        self._write(self.ws.send(TextMessage(data=text)))

    def close_now(self, code: int) -> None:
        if self._closed or self._transport is None:
            return
        self._closed = True
        with contextlib.suppress(Exception):  # a connection already half gone
            self._write(self.ws.send(CloseConnection(code=code)))
        self._transport.close()

    def _abort(self) -> None:
        self._closed = True
        if self._transport is not None:
            self._transport.abort()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)


class SocketHub(Worker):
    """The hub as a child of the tree: started before the sockets, stopped after them."""

    def __init__(self, idle_timeout: float) -> None:
        super().__init__()
        self._idle_timeout = idle_timeout

    def init(self) -> None:
        self.hub = Hub(self._idle_timeout)

    def terminate(self) -> None:
        self.hub.stop()

    def handle(self, message: object) -> object:
        if isinstance(message, GetHub):
            return self.hub
        return super().handle(message)


def _ignore(_text: str) -> None:
    """Until the socket actor is attached."""


def _nothing() -> None:
    """Until the socket actor is attached."""
