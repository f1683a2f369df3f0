"""One-line messages for bad input: the path of the first pydantic error and the value, shortened.

Shared by the scenario loader and every other validated file (sweep configs), so every
message has the same shape: ``source: path.to.field: what is wrong (got value)``.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from allocsim.core.error_text import shorten, show

_UNION_TAG = re.compile(
    r"^(constrained-\w+|literal\[.*\]|function-\w+\[.*\]|lax-or-strict\[.*\]|tagged-union\[.*\])$"
)



def format_validation_error(
    err: ValidationError, source: str, prefix: str = "", tags: re.Pattern[str] | None = None
) -> str:
    """The first error of ``err`` (an unknown key first) as ``source: field.path: message (got value)``,
    one line.

    Parts of the location that are pydantic's own union tags (``tags`` adds more) are left
    out; every key and value is shortened, so a 20 MB value under a misspelt key is not echoed.
    """
    errors = err.errors(include_url=False)
    # a misspelt key also makes the key it was meant to be "missing": name the misspelling
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
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
