"""Ecto-style casting and validation: errors keyed by field, Ecto's exact messages.

Rules mirrored from Ecto: a value of the wrong type gets only "is invalid"; blank (missing,
null, or empty after trimming) gets "can't be blank" from `validate_required`; validations
skip fields that are absent or failed to cast; unknown fields are ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bitnexus.common.text import is_text

BLANK = "can't be blank"
INVALID = "is invalid"
TAKEN = "has already been taken"
DOES_NOT_EXIST = "does not exist"

_DECIMAL_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_INTEGER_RE = re.compile(r"[+-]?\d+", re.ASCII)


class CastError(ValueError):
    """The value cannot be cast to the field's type."""


def cast_string(value: object) -> str:
    # NUL, lone surrogates and noncharacters (bitnexus.common.text) crash the database
    # driver or the password hasher: a client could crash actors at will. Invalid.
    if not isinstance(value, str) or not is_text(value):
        raise CastError
    return value


def cast_trimmed_string(value: object) -> str:
    return cast_string(value).strip()


def cast_integer(value: object) -> int:
    if isinstance(value, bool):  # bool is an int subclass in Python, not in JSON
        raise CastError
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER_RE.fullmatch(value) and len(value) <= 20:
        return int(value)
    raise CastError


def cast_decimal(value: object) -> Decimal:
    """Integers, finite floats and decimal strings, as Ecto's :decimal type casts them."""
    if isinstance(value, bool):
        raise CastError
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CastError
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CastError
        return Decimal(repr(value))  # shortest round-trip text: 19.99, not 19.989999...
    if isinstance(value, str) and len(value) <= 100 and _DECIMAL_RE.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:
            raise CastError from None
    raise CastError


def enum_caster(values: Collection[str]) -> Callable[[object], str]:
    """A caster accepting exactly one of `values` (Ecto.Enum)."""

    def cast(value: object) -> str:
        if isinstance(value, str) and value in values:
            return value
        raise CastError

    return cast


def decimal_places(value: Decimal) -> int:
    """Significant decimal places, ignoring trailing zeros (19.990 has 2); exact."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    kept = list(digits)
    while exponent < 0 and kept and kept[-1] == 0:
        kept.pop()
        exponent += 1
    return max(0, -exponent)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Changeset:
    """Changes cast from `params` over existing `data`, with accumulated errors."""

    def __init__(self, params: Mapping[Any, object], data: Mapping[str, object]) -> None:
        self.params = params
        self.data = data
        self.changes: dict[str, object] = {}
        self.errors: dict[str, list[str]] = {}

    @property
    def valid(self) -> bool:
        return not self.errors

    def cast(self, field: str, caster: Callable[[object], object]) -> Changeset:
        """Cast `params[field]` if present; blank becomes None (Ecto's empty_values)."""
        if field not in self.params:
            return self
        raw = self.params[field]
        if _is_blank(raw):
            value: object = None
        else:
            try:
                value = caster(raw)
            except CastError:
                return self.add_error(field, INVALID)
        if value != self.data.get(field) or field not in self.data:
            self.changes[field] = value
        return self

    def get(self, field: str) -> object:
        """The field's value after the changes."""
        return self.changes[field] if field in self.changes else self.data.get(field)

    def add_error(self, field: str, message: str) -> Changeset:
        self.errors.setdefault(field, []).append(message)
        return self

    def validate_required(self, *fields: str) -> Changeset:
        for field in fields:
            if field not in self.errors and _is_blank(self.get(field)):
                self.add_error(field, BLANK)
        return self

    def _change(self, field: str) -> Any:
        """The new, non-null value of `field`, or None when there is nothing to validate.

        As in Ecto, every validation of a cast change runs, even after another one failed.
        """
        return self.changes.get(field)

    def validate_length(self, field: str, *, min: int = 0, max: int | None = None) -> Changeset:
        value = self._change(field)
        if value is None:
            return self
        if len(value) < min:
            self.add_error(field, f"should be at least {min} character(s)")
        if max is not None and len(value) > max:
            self.add_error(field, f"should be at most {max} character(s)")
        return self

    def validate_format(self, field: str, pattern: re.Pattern[str]) -> Changeset:
        value = self._change(field)
        if value is not None and not pattern.search(value):
            self.add_error(field, "has invalid format")
        return self

    def validate_inclusion(self, field: str, values: Collection[object]) -> Changeset:
        value = self._change(field)
        if value is not None and value not in values:
            self.add_error(field, INVALID)
        return self

    def validate_number(
        self,
        field: str,
        *,
        greater_than: int | None = None,
        greater_than_or_equal_to: int | None = None,
        less_than: int | None = None,
        less_than_or_equal_to: int | None = None,
    ) -> Changeset:
        value = self._change(field)
        if value is None:
            return self
        if greater_than is not None and not value > greater_than:
            self.add_error(field, f"must be greater than {greater_than}")
        if greater_than_or_equal_to is not None and not value >= greater_than_or_equal_to:
            self.add_error(field, f"must be greater than or equal to {greater_than_or_equal_to}")
        if less_than is not None and not value < less_than:
            self.add_error(field, f"must be less than {less_than}")
        if less_than_or_equal_to is not None and not value <= less_than_or_equal_to:
            self.add_error(field, f"must be less than or equal to {less_than_or_equal_to}")
        return self

    def validate_decimal_places(
        self, field: str, places: int, *, always: bool = False
    ) -> Changeset:
        """At most `places` decimal places; `always` also checks an unchanged value."""
        value = self.get(field) if always and field not in self.errors else self._change(field)
        if isinstance(value, Decimal) and decimal_places(value) > places:
            self.add_error(field, f"must have at most {places} decimal place(s)")
        return self
