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


PREFIX = "pretrained:"


def shipped_label(scenario: str) -> str | None:
    """``pretrained:<algo>`` of the policy shipped for preset ``scenario`` (its card's algorithm), or None."""
    path = pretrained_path(scenario)
    if path is None:
        return None
    from allocsim.agents.inference import OnnxPolicy  # numpy and onnxruntime only: the runtime install

    return pretrained_label(OnnxPolicy.load(path).card.algo)


def resolve_shipped(model: str | Path, scenario: str | None = None) -> Path | None:
    """The shipped file that ``pretrained:<algo>`` names, or None when ``model`` is not of that form.

    The one resolver of the name for every command that takes a model: the policy shipped for preset
    ``scenario`` when given and of that algorithm, else the only shipped policy of that algorithm.
    ValueError (one line naming what ships) when no shipped policy or several match.
    """
    text = str(model)
    if not text.startswith(PREFIX):
        return None
    from allocsim.agents.inference import OnnxPolicy  # numpy and onnxruntime only: the runtime install
    from allocsim.core.error_text import shorten

    algo = text[len(PREFIX):]
    shown = shorten(text, 60)
    shipped = {name: OnnxPolicy.load(PRETRAINED_DIR / f"{name}.onnx").card.algo
               for name in pretrained_names()}
    matching = [name for name, made_by in shipped.items() if made_by == algo]
    if scenario in matching:
        return pretrained_path(str(scenario))
    if len(matching) == 1:
        return pretrained_path(matching[0])
    if not matching:
        offered = ", ".join(f"{pretrained_label(a)} (for {n})" for n, a in shipped.items()) or "none"
        raise ValueError(f"--model {shown}: no policy of that algorithm ships with allocsim; "
                         f"shipped: {offered}")
    raise ValueError(f"--model {shown}: {len(matching)} shipped policies ({', '.join(matching)}); "
                     "name the scenario with --scenario")
