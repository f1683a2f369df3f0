"""Learning curves of training runs: validation profit against training steps and against wall time.

Each run's ``metrics.csv`` (``allocsim.agents.runfiles``) has one row per validation: the
timesteps so far, the validation profit of the current policy, the reference rule's profit on
the same validation seeds and the wall seconds since the run started. A warm-started run's
first row (at timestep 0) is the behaviour clone before any PPO update, so the
curve separates what the clone gives from what learning adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from allocsim.agents import runfiles
from allocsim.experiments.plots import png, styles

#: The figure's file name in a benchmark folder (and its key in the report's figures).
LEARNING_CURVES = "learning_curves.png"
LEARNING_CURVES_TITLE = ("Learning curves: validation profit of each training seed "
                         "(dashed: the reference rule)")
#: Columns a run's metrics file must have for its curve.
CURVE_COLUMNS = ("timesteps", "val_profit", "rule_profit", "wall_seconds")
#: What a run's ``timesteps`` counts, by algorithm: env steps, except DCL's labelled states.
STEP_UNITS: dict[str, str] = {"dcl": "labelled states (DCL)"}
ENV_STEPS = "env steps"


def step_unit(runs: Mapping[str, Path]) -> str:
    """The x-axis name of the runs' ``timesteps``, from each run's config (both when they differ)."""
    units = set()
    for run in runs.values():
        try:
            algo = str(runfiles.read_config(run).get("algo", ""))
        except ValueError:  # no readable config: an SB3 run of an older layout counts env steps
            algo = ""
        units.add(STEP_UNITS.get(algo, ENV_STEPS))
    return " / ".join(sorted(units)) or ENV_STEPS


def read_curves(runs: Mapping[str, Path]) -> dict[str, pd.DataFrame]:
    """Label -> that run's validation rows (runs without a usable metrics file are left out)."""
    curves = {}
    for label, run in runs.items():
        path = run / runfiles.METRICS
        if not path.is_file():
            continue
        frame = pd.read_csv(path)
        if not set(CURVE_COLUMNS) <= set(frame.columns):
            continue
        frame = frame.dropna(subset=["val_profit"])
        if len(frame):
            curves[label] = frame.loc[:, list(CURVE_COLUMNS)].reset_index(drop=True)
    return curves


def learning_curves(curves: Mapping[str, pd.DataFrame], currency: str, steps: str = ENV_STEPS) -> bytes:
    """Two panels sharing the profit axis: against training steps (named ``steps``) and against
    wall minutes; the reference rule's validation profit is the dashed line (the mean over runs:
    they share seeds)."""
    fig = Figure(figsize=(11, 4))
    by_steps, by_time = fig.subplots(1, 2, sharey=True)
    look = styles(list(curves))
    for label, frame in curves.items():
        colour, marker = look[label]
        for ax, x in ((by_steps, frame["timesteps"]), (by_time, frame["wall_seconds"] / 60)):
            ax.plot(x, frame["val_profit"], color=colour, marker=marker, markersize=3, label=label)
    rule = pd.concat([f["rule_profit"] for f in curves.values()]).mean() if curves else float("nan")
    for ax in (by_steps, by_time):
        ax.axhline(rule, color="black", linestyle="--", linewidth=1, label="reference rule")
        ax.grid(alpha=0.3)
    by_steps.set_xlabel(steps)
    by_time.set_xlabel("wall time (minutes)")
    by_steps.set_ylabel(f"validation profit ({currency})")
    by_steps.legend(fontsize=8, loc="lower right")
    return png(fig)


def curves_figure(runs: Mapping[str, Path], currency: str) -> tuple[str, bytes] | None:
    """(title, PNG) of the runs' curves, or None when no run has validation rows."""
    curves = read_curves(runs)
    if not curves:
        return None
    return LEARNING_CURVES_TITLE, learning_curves(curves, currency, step_unit({k: runs[k] for k in curves}))
