"""Expected outcomes of service calls: raised in an actor, re-raised to the caller.

Each subclasses `supervisors.Rejected`, so the actor keeps running after raising one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from supervisors import Rejected


class ValidationFailed(Rejected):
    """Changeset errors keyed by field, with Ecto's messages (HTTP 422)."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in errors.items()}
        super().__init__(f"validation failed: {self.errors}")


class NotFound(Rejected):
    """The record does not exist (HTTP 404)."""


class Forbidden(Rejected):
    """The caller may not do this (HTTP 403)."""


class Unauthorized(Rejected):
    """Credentials did not match (HTTP 401)."""


class Unavailable(Rejected):
    """The database or a service this one depends on did not answer (HTTP 503)."""
