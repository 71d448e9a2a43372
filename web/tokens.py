"""Access tokens: HS256 JWTs with `sub`, `role`, `gen`, `exp` and `iat`, valid 15 minutes.

`gen` is the user's token generation when the token was issued: the token is honoured
only while it is still the user's (web/auth.py asks the Accounts service on every
request), and the role that counts is the user's current one. Refresh tokens are opaque
and live in the database (bitnexus/accounts/sessions.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from bitnexus.accounts import ROLES

ALGORITHM = "HS256"
LIFETIME_SECONDS = 15 * 60


class InvalidToken(Exception):
    """Expired, badly signed, unsigned (`alg: none`) or not a token at all."""


@dataclass(frozen=True)
class Claims:
    user_id: int
    role: str
    generation: int


def issue(
    secret: str, user_id: int, role: str, *, generation: int, now: float | None = None
) -> str:
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": str(user_id),
        "role": role,
        "gen": generation,
        "iat": issued,
        "exp": issued + LIFETIME_SECONDS,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str) -> Claims:
    """The token's claims, or `InvalidToken`. Only HS256 is accepted, never `none`."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "role", "gen", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    sub, role, generation = claims["sub"], claims["role"], claims["gen"]
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit()) or role not in ROLES:
        raise InvalidToken("unexpected claims")
    if type(generation) is not int:
        raise InvalidToken("unexpected claims")
    return Claims(int(sub), role, generation)
