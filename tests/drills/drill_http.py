"""A small HTTP client for the drills: one connection per request, never raises on a
status, and reports a timeout or a refused connection as a status of its own."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

TIMEOUT = "timeout"
REFUSED = "connection"


@dataclass
class Answer:
    status: int | str  # an HTTP status, or TIMEOUT / REFUSED
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw: bytes = b""
    seconds: float = 0.0

    @property
    def retryable(self) -> bool:
        return not isinstance(self.status, int) or self.status >= 500


def send(
    base: str,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    raw: bytes | None = None,
) -> Answer:
    """`body` is sent as JSON; `raw` is sent byte for byte (for hostile input)."""
    url = urlsplit(base)
    payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    all_headers = {"content-type": "application/json", **(headers or {})}
    started = time.monotonic()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
    except TimeoutError:
        return Answer(TIMEOUT, seconds=time.monotonic() - started)
    except (ConnectionError, http.client.HTTPException, OSError) as exc:
        return Answer(REFUSED, body=repr(exc), seconds=time.monotonic() - started)
    finally:
        conn.close()
    answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()})
    answer.raw, answer.seconds = data, time.monotonic() - started
    try:
        answer.body = json.loads(data) if data else None
    except ValueError:
        answer.body = data.decode(errors="replace")
    return answer


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
