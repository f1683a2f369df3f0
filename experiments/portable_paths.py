"""Text with no folder of this machine in it: what the report, ``run.json`` and the console show of a path.

Kept apart from the report (pandas) so ``benchmark`` prints its parameter sources before that import.
"""

from __future__ import annotations

import re
from pathlib import Path

import allocsim

PACKAGE = Path(allocsim.__file__).resolve().parent
ABSOLUTE = re.compile(r"(?<![\w.~/:-])/[^\s'\"<>|,;()\[\]]+")


def portable(text: str, cwd: Path | None = None) -> str:
    """``text`` with every absolute path rewritten so that it names no folder of this machine:
    inside the package ``allocsim/<path>``, inside the working folder relative to it, else the name."""
    here = (cwd or Path.cwd()).resolve()

    def one(match: re.Match[str]) -> str:
        path = Path(match.group(0))
        for root, prefix in ((PACKAGE, "allocsim/"), (here, "")):
            if path.is_relative_to(root):
                return prefix + str(path.relative_to(root)) if path != root else prefix + "."
        return path.name or "/"

    return ABSOLUTE.sub(one, text)
