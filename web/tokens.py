"""Access tokens: HS256 JWTs with `sub`, `role`, `gen`, `exp` and `iat`, valid 15 minutes.

`gen` is the user's token generation when the token was issued: the token is honoured
only while it is still the user's (web/auth.py asks the Accounts service on every
request), and the role that counts is the user's current one. Refresh tokens are opaque
and live in the database (bitnexus/accounts/sessions.py).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import jwt

from bitnexus.accounts import ROLES

ALGORITHM = "HS256"
LIFETIME_SECONDS = 15 * 60
VERIFIED_CACHE = 4096  # tokens whose signature was checked, most recently used


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
    claims, expires = _checked(secret, token)
    if expires <= time.time():  # as PyJWT decides expiry, on every use of a cached token
        raise InvalidToken("Signature has expired")
    return claims


@functools.lru_cache(maxsize=VERIFIED_CACHE)
def _checked(secret: str, token: str) -> tuple[Claims, int]:
    """Signature and claims checked once per token (a client sends the same one on every
    request): only the expiry changes with time. Refusals are not cached."""
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
    return Claims(int(sub), role, generation), int(claims["exp"])
