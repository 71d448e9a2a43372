"""What a service call raises instead of answering: the domain's outcomes, re-exported,
and the services' own `Unavailable`."""

from __future__ import annotations

from bitnexus.common.errors import DomainError, Forbidden, NotFound, Unauthorized, ValidationFailed
from supervisors import Rejected

__all__ = [
    "DomainError",
    "Forbidden",
    "NotFound",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
]


class Unavailable(Rejected):
    """The database or a service this one depends on did not answer (HTTP 503)."""
