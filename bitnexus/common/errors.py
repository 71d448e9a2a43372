"""The domain's expected outcomes: a request the rules refuse, not a fault.

Raised by the contexts and carried to the caller as the reply (the service actors list
`DomainError` among the exceptions that answer rather than crash).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """An expected outcome of a domain operation."""


class ValidationFailed(DomainError):
    """Changeset errors keyed by field, with Ecto's messages (HTTP 422).

    The ledger refuses with it too: insufficient funds, a balance past BIGINT, an
    idempotency key used for another request, a party that does not exist.
    """

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in errors.items()}
        super().__init__(f"validation failed: {self.errors}")


class NotFound(DomainError):
    """The record does not exist, or the caller may not know that it does (HTTP 404)."""


class Forbidden(DomainError):
    """The caller may not do this (HTTP 403)."""


class Unauthorized(DomainError):
    """Credentials did not match (HTTP 401)."""
