"""Policies shipped with the package: ``agents/pretrained/<scenario>.onnx``, one per preset at most.

``allocsim benchmark`` adds the shipped policy of a scenario to the table when the
scenario it is run on has the hash the policy was exported for. How each file was
made is in docs/results.md ("Pretrained policy"). Plain files: no torch, no unpickling.
"""

from __future__ import annotations

from pathlib import Path

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def pretrained_path(scenario: str) -> Path | None:
    """The shipped ONNX policy for preset ``scenario``, or None."""
    path = PRETRAINED_DIR / f"{scenario}.onnx"
    return path if path.is_file() else None


def pretrained_names() -> list[str]:
    """Scenarios that ship a policy."""
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.onnx"))


def is_shipped(path: Path) -> bool:
    """Whether ``path`` is one of the policies shipped with the package."""
    return Path(path).resolve().parent == PRETRAINED_DIR.resolve()


def pretrained_label(algo: str) -> str:
    """The one label of a shipped policy in every table (benchmark, sweep): ``pretrained:<algo>``."""
    return f"pretrained:{algo}"
