"""Echoes of a user's values in error messages: short, and safe for any value.

Shared by every wing (the scenario loader, the CLI, the torch-free runtime), so every
message shows a bad value the same way. Imports the standard library only.
"""

from __future__ import annotations

import math
from typing import Any

#: The longest echo of a user's value, key or line (characters).
ECHO_LIMIT = 80

def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` itself when short, else its start and its length (never more than ``limit``)."""
    if len(text) <= limit:
        return text
    tail = f"... ({len(text):,} characters)"
    return text[: max(limit - len(tail), 8)] + tail


def shorten_path(text: str, limit: int = ECHO_LIMIT) -> str:
    """A path itself when short, else ``...``, its end and its length: the file's name stays in view."""
    if len(text) <= limit:
        return text
    note = f" ({len(text):,} characters)"
    return "..." + text[-max(limit - len(note) - 3, 8):] + note


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
