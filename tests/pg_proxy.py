"""A TCP proxy on 127.0.0.1 in front of the local PostgreSQL that a test can cut: the
database fails for real at the driver (connections reset, new ones dropped at once)
without stopping the server every other test shares."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

import devdb

BUFFER = 65536


class Proxy:
    """Forwards each connection to PostgreSQL until `cut()`; `restore()` lets them in."""

    def __init__(self, host: str = devdb.PG_HOST, port: int = devdb.PG_PORT) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.accepted = 0
        threading.Thread(target=self._accept, name="pg-proxy", daemon=True).start()

    def cut(self) -> None:
        """Reset every connection through the proxy; drop new ones until `restore()`."""
        self._open.clear()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _reset(sock)

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if not self._open.is_set():
                _reset(client)
                continue
            try:
                server = socket.create_connection(self._target)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self.accepted += 1
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(BUFFER):
            sink.sendall(data)
    _reset(sink)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a dead peer or a cut network looks to the driver."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
