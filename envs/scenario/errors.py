"""One-line messages for bad input: the path of the first pydantic error and the value, shortened.

Shared by the scenario loader and every other validated file (sweep configs), so every
message has the same shape: ``source: path.to.field: what is wrong (got value)``.
"""

from __future__ import annotations

import difflib
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
    if first["type"] == "union_tag_not_found":  # pydantic: "Unable to extract tag using discriminator"
        message = _no_tag(str(first.get("ctx", {}).get("discriminator", "")).strip("'"), first.get("input"))
    bad = first.get("input")
    plain = path and not isinstance(bad, dict | list) and first["type"] != "missing"
    shown = f" (got {show(bad)})" if plain else ""
    more = len(err.errors()) - 1
    hint = _meant(first, errors)
    more -= bool(hint)  # the required key it was meant to be is "missing": said by the hint
    tail = f" [+{more} more error(s)]" if more else ""
    return f"{source}: {path + ': ' if path else ''}{message}{shown}{hint}{tail}"


def _meant(first: dict, errors: list) -> str:
    """For a misspelt key (``holding_cots``) beside a missing required key of the same mapping that it
    resembles (``holding_cost``): ``; did you mean holding_cost?``, else nothing."""
    if first["type"] != "extra_forbidden" or not first["loc"]:
        return ""
    parent = tuple(first["loc"][:-1])
    missing = [str(e["loc"][-1]) for e in errors
               if e["type"] == "missing" and e["loc"] and tuple(e["loc"][:-1]) == parent]
    close = difflib.get_close_matches(str(first["loc"][-1]), missing, n=1, cutoff=0.6)
    return f"; did you mean {shorten(close[0], 40)}?" if close else ""


def _no_tag(key: str, given: object) -> str:
    """A mapping without the key that says which kind it is (``rule`` of a replenishment), naming a
    key of ``given`` that looks like its misspelling."""
    keys = [str(k) for k in given] if isinstance(given, dict) else []
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    typo = f"; is {shorten(close[0], 40)} meant to be {key}?" if close else ""
    return f"the key {key} is missing (it says which kind this is){typo}"
