"""File names built from user input, kept inside their folder.

Shared by the wings that turn a scenario or policy name into a file name (tuned
parameters, run outputs). Imports the standard library only.
"""

from __future__ import annotations

from pathlib import Path


def child_path(folder: Path, *names: str) -> Path:
    """``folder / names...``; ValueError when a name (from user input) would lead outside ``folder``."""
    path = Path(folder).joinpath(*names)
    root = Path(folder).resolve()
    if any(Path(n).is_absolute() or not n for n in names) or not path.resolve().is_relative_to(root):
        shown = "/".join(names)
        raise ValueError(f"name {shown[:80]!r} would lead outside the folder {folder}")
    return path
