"""A trained policy's scenario and timing (its run folder or ONNX card), and its evaluation.

Torch-free (onnxruntime and YAML only): ``allocsim evaluate`` refuses a bad card before anything
slow, and plays an ONNX policy without ever loading PyTorch (a run folder's model loads it itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allocsim.core.error_text import shorten

if TYPE_CHECKING:
    from allocsim.envs.scenario import Scenario


def trained_scenario(model: Path) -> str:
    """The scenario a model was trained on: the run's config, or an ONNX file's card (a preset name)."""
    if Path(model).suffix == ".onnx":
        from allocsim.agents.inference import OnnxPolicy
        from allocsim.envs.scenario import preset_names

        named = OnnxPolicy.load(model).card.scenario
        if named not in preset_names():  # a card is data from a file: never a path to open
            raise ValueError(f"{model} was exported for scenario {shorten(repr(named), 80)}, not a preset; "
                             "pass --scenario with that scenario's YAML file")
        return named
    from allocsim.agents.runfiles import read_config

    return str(read_config(model)["scenario"])


def trained_timing(model: Path) -> str | None:
    """An ONNX file's training timing mode (its card); None for a run folder, whose scenario has it."""
    if Path(model).suffix == ".onnx":
        from allocsim.agents.inference import OnnxPolicy

        return OnnxPolicy.load(model).card.timing
    return None


def evaluate_model(
    run_dir: Path,
    scenario: str | Path | Scenario | None,
    seeds: Sequence[int],
    n_workers: int = 1,
    on_done: Callable[[int], None] | None = None,
    timing: str | None = None,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``allocsim evaluate`` result, shaped like ``simulate --json``.

    ``scenario`` defaults to the one the run was trained on, in the timing mode it was trained in;
    ``timing`` overrides the mode. ``say`` hears a one-off compile before it happens.
    """
    from allocsim.envs.scenario import load_scenario
    from allocsim.experiments.evaluation import evaluate, learned_spec, summarise
    from allocsim.experiments.waits import compile_first

    spec = learned_spec(run_dir)
    if scenario is None:
        scenario = trained_scenario(run_dir)
        timing = timing or trained_timing(run_dir)
    loaded = load_scenario(scenario, timing)
    if say is not None:
        compile_first(loaded, say)
    rows = evaluate(loaded, [spec], seeds, n_workers=n_workers, on_done=on_done)
    episodes = [{k: v for k, v in r.items() if k != "policy"} for r in rows]
    return {
        "scenario": loaded.name,
        "timing": loaded.timing.mode,
        "policy": spec.label,
        "episodes": episodes,
        "summary": summarise(episodes),
    }
