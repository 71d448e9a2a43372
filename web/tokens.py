"""Bearer tokens: HS256 JWTs with `sub`, `role`, `exp` and `iat`, valid for 24 hours."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from bitnexus.accounts import ROLES

ALGORITHM = "HS256"
LIFETIME_SECONDS = 24 * 60 * 60


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
    return Claims(int(sub), role)
