"""What counts as text from outside: Unicode scalar values a database and a log can hold.

Refused: NUL (PostgreSQL text cannot hold it), lone surrogates (no UTF-8 encoding: the
driver, the password hasher and the log writer raise on them) and the 66 noncharacters
(reserved for a program's internal use, never interchanged).
"""

from __future__ import annotations

import re

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_NOT_TEXT = re.compile(f"[\x00\ud800-\udfff{_NONCHARACTERS}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_text(value: str) -> bool:
    """Whether ``value`` holds no NUL, lone surrogate or noncharacter."""
    return _NOT_TEXT.search(value) is None


def is_unicode(value: str) -> bool:
    """Whether ``value`` can be encoded at all (holds no lone surrogate)."""
    return _SURROGATE.search(value) is None
