"""Bearer tokens: HS256 JWTs with `sub`, `role`, `exp` and `iat`, valid for 24 hours."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import jwt

from bitnexus.accounts import ROLES

ALGORITHM = "HS256"
LIFETIME_SECONDS = 24 * 60 * 60
VERIFIED_CACHE = 4096  # tokens whose signature was checked, most recently used


class InvalidToken(Exception):
    """Expired, badly signed, unsigned (`alg: none`) or not a token at all."""


@dataclass(frozen=True)
class Claims:
    user_id: int
    role: str


def issue(secret: str, user_id: int, role: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    claims = {"sub": str(user_id), "role": role, "iat": issued, "exp": issued + LIFETIME_SECONDS}
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
            options={"require": ["sub", "role", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    sub, role = claims["sub"], claims["role"]
    if not isinstance(sub, str) or not sub.isdigit() or role not in ROLES:
        raise InvalidToken("unexpected claims")
    return Claims(int(sub), role), int(claims["exp"])
