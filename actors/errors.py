"""Expected outcomes of service calls: raised in an actor, re-raised to the caller.

Each subclasses `supervisors.Rejected`, so the actor keeps running after raising one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from supervisors.errors import Rejected  # TODO: `from supervisors import Rejected` once it lands


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
