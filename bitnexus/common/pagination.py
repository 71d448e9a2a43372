"""Cursor pagination in id order: opaque cursors, `limit` at most 100."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bitnexus.common.changeset import Changeset, cast_integer, cast_string
from bitnexus.database.schema import MAX_ID

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """Up to `limit` items in cursor order; `next_cursor` fetches the rest (None: no more)."""

    items: tuple[T, ...]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageRequest:
    """Rows after id `after` (exclusive), at most `limit` of them."""

    limit: int = DEFAULT_LIMIT
    after: int = 0


def encode_cursor(kind: str, last_id: int) -> str:
    """An opaque cursor for the page after `last_id`."""
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int | None:
    """The id encoded in `cursor`, or None when it is not a cursor of this `kind`."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(":")
    if prefix != kind or not (number.isascii() and number.isdigit()) or len(number) > 10:
        return None
    return int(number) if int(number) <= MAX_ID else None


def page_request(changeset: Changeset, kind: str) -> PageRequest:
    """Cast and validate `limit` and `cursor` from the changeset's params."""
    changeset.cast("limit", cast_integer).cast("cursor", cast_string)
    changeset.validate_number("limit", greater_than=0, less_than_or_equal_to=MAX_LIMIT)
    after = 0
    cursor = changeset.changes.get("cursor")
    if isinstance(cursor, str):
        decoded = decode_cursor(kind, cursor)
        if decoded is None:
            changeset.add_error("cursor", "is invalid")
        else:
            after = decoded
    limit = changeset.changes.get("limit")
    return PageRequest(limit=limit if isinstance(limit, int) else DEFAULT_LIMIT, after=after)


def page(
    kind: str,
    rows: Sequence[Any],
    limit: int,
    build: Callable[[Sequence[Any]], Sequence[T]],
    key: str | int = "id",
) -> Page[T]:
    """The page for `rows`, up to limit + 1 fetched in cursor order: the first `limit` of
    them built into items, and a cursor after the last one's `key` (a name, or a position
    in a tuple row) when there are more."""
    kept = rows[:limit]
    more = len(rows) > limit
    return Page(tuple(build(kept)), encode_cursor(kind, kept[-1][key]) if more else None)
