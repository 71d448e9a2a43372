"""`x-request-id` on every response, honoured from the request when it looks sane; the
id is also the logging context's (bitnexus.logs.request_id) while the request runs
(web/middleware.py)."""

from __future__ import annotations

import re
import secrets

HEADER = "x-request-id"
# Plug.RequestId accepts 20 to 200 characters; we also accept shorter printable ids.
_VALID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,200}")


def choose(given: str | None) -> str:
    """The client's id when it looks sane, else a fresh one."""
    return given if given and _VALID.fullmatch(given) else secrets.token_urlsafe(15)
