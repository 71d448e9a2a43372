"""Timestamps as text: ISO 8601 UTC with a `Z`, as Ecto encodes :utc_datetime."""

from __future__ import annotations

import datetime as dt


def iso(value: dt.datetime) -> str:
    """``2026-01-01T12:00:00Z`` for an aware UTC datetime."""
    return value.isoformat().replace("+00:00", "Z")
