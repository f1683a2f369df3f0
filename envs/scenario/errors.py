"""One-line messages for bad input: the path of the first pydantic error and the value, shortened.

Shared by the scenario loader and every other validated file (sweep configs), so every
message has the same shape: ``source: path.to.field: what is wrong (got value)``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import ValidationError

#: The longest echo of a user's value, key or line (characters).
ECHO_LIMIT = 80

_UNION_TAG = re.compile(
    r"^(constrained-\w+|literal\[.*\]|function-\w+\[.*\]|lax-or-strict\[.*\]|tagged-union\[.*\])$"
)


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` itself when short, else its start and its length (never more than ``limit``)."""
    if len(text) <= limit:
        return text
    tail = f"... ({len(text):,} characters)"
    return text[: max(limit - len(tail), 8)] + tail


def show(value: Any, limit: int = ECHO_LIMIT) -> str:
    """``repr(value)`` shortened; huge integers as their digit count (repr of one may fail)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"an integer of about {digits:,} digits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__} too large to show"
    return shorten(text, limit)


def format_validation_error(
    err: ValidationError, source: str, prefix: str = "", tags: re.Pattern[str] | None = None
) -> str:
    """The first error of ``err`` as ``source: field.path: message (got value)``, one line.

    Parts of the location that are pydantic's own union tags (``tags`` adds more) are left
    out; every key and value is shortened, so a 20 MB value under a misspelt key is not echoed.
    """
    first = err.errors(include_url=False)[0]
    parts = [
        shorten(str(p), 40) for p in first["loc"]
        if not _UNION_TAG.match(str(p)) and not (tags is not None and tags.match(str(p)))
    ]
    path = ".".join([prefix, *parts] if prefix else parts)
    message = shorten(" ".join(str(first["msg"]).removeprefix("Value error, ").split()), 240)
    bad = first.get("input")
    plain = path and not isinstance(bad, dict | list) and first["type"] != "missing"
    shown = f" (got {show(bad)})" if plain else ""
    more = len(err.errors()) - 1
    tail = f" [+{more} more error(s)]" if more else ""
    return f"{source}: {path + ': ' if path else ''}{message}{shown}{tail}"
