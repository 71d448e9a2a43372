"""BitNexus: a marketplace-and-ledger backend as an OTP-style actor system."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bitnexus.tree import App

__version__ = "0.1.0"


def start(
    database_url: str | None = None, *, migrate: bool = False, **settings: Any
) -> AbstractContextManager[App]:
    """Run the services in this process for the ``with`` block::

        with bitnexus.start("sqlite:///var/bitnexus.db", migrate=True) as app:
            user = accounts.create_user({...})

    ``database_url`` defaults to the configured one (BITNEXUS_DATABASE_URL); ``migrate``
    applies pending migrations first; ``settings`` override `Config` fields. Yields an
    object with ``.tree`` (the live `supervisors.Tree`) and ``.config``; on exit the
    tree stops in reverse start order.
    """
    from bitnexus.tree import start as start_app  # the actors load only when started

    return start_app(database_url, migrate=migrate, **settings)
