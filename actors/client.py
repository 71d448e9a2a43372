"""The calling side of the services: one call, within the configured call timeout.

The client functions of each service module (`accounts.get_user`, `ledger.verify`, …)
call through `ask`. `configure` sets this process's default timeout; the application's
tree does so as it is assembled (`bitnexus.tree.application_spec`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bitnexus.common.pagination import MAX_LIMIT, Page
from bitnexus.config import Config
from supervisors import call

T = TypeVar("T")

_default_timeout = Config.call_timeout


def configure(call_timeout: float) -> None:
    """The timeout a client function waits when it is given none."""
    global _default_timeout
    _default_timeout = call_timeout


def default_timeout() -> float:
    return _default_timeout


def ask(name: str, message: object, timeout: float | None = None) -> Any:
    """The named service's reply to ``message``; its error, or the runtime's
    (`CallTimeout`, `NoProcess`, `ActorCrashed`), is raised."""
    return call(name, message, _default_timeout if timeout is None else timeout)


def every(fetch: Callable[[Mapping[str, object]], Page[T]]) -> list[T]:
    """Every item of a paged listing: ``fetch(params)`` for one page, page after page."""
    items: list[T] = []
    params: dict[str, object] = {"limit": MAX_LIMIT}
    while True:
        page = fetch(params)
        items += page.items
        if page.next_cursor is None:
            return items
        params = {"limit": MAX_LIMIT, "cursor": page.next_cursor}
