"""Which scenario and timing a trained policy belongs to, read from its run folder or ONNX card.

Torch-free (onnxruntime and YAML only), so ``allocsim evaluate`` refuses a bad card before it loads
PyTorch, in one line.
"""

from __future__ import annotations

from pathlib import Path

from allocsim.core.error_text import shorten


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
