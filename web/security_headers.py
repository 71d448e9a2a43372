"""Security headers: on every response, and a strict Content-Security-Policy on /admin.

The operator page's own script and style carry a per-response nonce; nothing else may
run, load or frame it (the page holds the operator token).
"""

from __future__ import annotations

import re
import secrets

from flask import Response, g, request

EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # /admin?token=... must never leave in a Referer
}
ADMIN_POLICY = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
    "connect-src 'self'{sockets}; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")


_EVERY_RESPONSE_NAMES = {name.lower(): (name, value) for name, value in EVERY_RESPONSE.items()}


def apply(headers: list[tuple[str, str]]) -> None:
    """Add each of EVERY_RESPONSE the response lacks (WSGI response headers)."""
    present = {name.lower() for name, _ in headers}
    headers.extend(item for key, item in _EVERY_RESPONSE_NAMES.items() if key not in present)


def nonce() -> str:
    """This response's CSP nonce, for the page's script and style tags."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def apply_admin(response: Response) -> Response:
    """The strict policy (frame-ancestors 'none') on every /admin response."""
    # The page's own socket: 'self' does not cover ws:// in every browser (Chromium's).
    host = request.host
    sockets = f" ws://{host} wss://{host}" if HOST.fullmatch(host) else ""
    policy = ADMIN_POLICY.format(nonce=nonce(), sockets=sockets)
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response
