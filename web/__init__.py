"""The HTTP layer: a thin, Phoenix-compatible JSON API over the actors."""

from web.app import create_app
from web.runtime import Runtime

__all__ = ["Runtime", "create_app"]
