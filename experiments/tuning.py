"""``allocsim tune``: grid search of a rule's parameters on the tuning seed block.

Every grid point plays the same tuning seeds (common random numbers); the point
with the highest mean profit wins and is saved as JSON to
``<tuned-dir>/<scenario name>/<policy>.json`` (``tuned/`` in the working
directory by default), which ``allocsim benchmark`` loads before the parameters
shipped for the presets (``allocsim.baselines.tuned_params``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from allocsim.baselines.tuned_params import DEFAULT_TUNED_DIR, tuned_path
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import PolicySpec, Row, evaluate
from allocsim.experiments.files import write_text
from allocsim.experiments.grids import grid_for, grid_points
from allocsim.experiments.seeds import seed_block
from allocsim.experiments.stats import Estimate, mean_ci, paired_diff

__all__ = ["DEFAULT_TUNED_DIR", "Candidate", "TuneResult", "rank", "save_tuned", "tune", "tuned_path"]

OBJECTIVE = "profit"


@dataclass(frozen=True)
class Candidate:
    """One grid point's result: its parameters, profit and fill rate, and profit versus the winner."""

    params: dict[str, Any]
    profit: Estimate
    fill_rate: Estimate
    vs_best: Estimate


@dataclass(frozen=True)
class TuneResult:
    """The ranked search (best first) and the seeds it used."""

    scenario: str
    policy: str
    seeds: list[int]
    grid: dict[str, list[Any]]
    candidates: list[Candidate]
    scenario_hash: str = ""
    timing: str = "aggregated"  # the timing mode the rules were played in

    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    def to_json(self) -> dict[str, Any]:
        """What the tuned-parameters file holds."""
        return {
            "scenario": self.scenario,
            "scenario_hash": self.scenario_hash,
            "timing": self.timing,
            "policy": self.policy,
            "params": self.best.params,
            "objective": OBJECTIVE,
            "profit_mean": self.best.profit.mean,
            "profit_ci95": self.best.profit.half_width,
            "seed_block": "tuning",
            "first_seed": self.seeds[0],
            "episodes": len(self.seeds),
            "grid": self.grid,
        }


def label_of(policy: str, params: dict[str, Any]) -> str:
    """``min-max[min_days=2,max_days=5]``: a grid point's row label."""
    parts = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()]
    return f"{policy}[{','.join(parts)}]"


def tune(
    scenario: Scenario,
    policy: str,
    episodes: int,
    *,
    n_workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> TuneResult:
    """Evaluate every grid point of ``policy`` on the first ``episodes`` tuning seeds; rank by profit.

    With ``timing.holdback_decision`` in the scenario, a rule's ``holdback`` is searched too."""
    holdback = scenario.timing.holdback_decision is not None
    points = grid_points(policy, holdback)
    if not points:
        raise ValueError(f"the grid of {policy!r} has no valid combination")
    seeds = seed_block("tuning").seeds(episodes)
    specs = [PolicySpec(policy, p, label_of(policy, p)) for p in points]
    rows = evaluate(scenario, specs, seeds, n_workers=n_workers, on_done=on_done)
    ranked = rank(scenario.name, policy, seeds, grid_for(policy, holdback), specs, rows)
    return replace(ranked, scenario_hash=scenario.content_hash(), timing=scenario.timing.mode)


def rank(
    scenario: str, policy: str, seeds: list[int], grid: dict[str, list[Any]],
    specs: Sequence[PolicySpec], rows: Sequence[Row],
) -> TuneResult:
    """Order the grid points by mean profit; paired profit difference against the best."""
    by_label: dict[str, list[Row]] = {}
    for row in rows:
        by_label.setdefault(row["policy"], []).append(row)
    profits = {s.label: [r[OBJECTIVE] for r in by_label[s.label]] for s in specs}
    order = sorted(specs, key=lambda s: -mean_ci(profits[s.label]).mean)
    best = profits[order[0].label]
    candidates = [
        Candidate(
            params=dict(s.params),
            profit=mean_ci(profits[s.label]),
            fill_rate=mean_ci([r["fill_rate"] for r in by_label[s.label]]),
            vs_best=paired_diff(profits[s.label], best),
        )
        for s in order
    ]
    return TuneResult(scenario, policy, seeds, grid, candidates)


def save_tuned(path: Path, result: TuneResult) -> Path:
    """Atomically write the winner's parameters (and how they were found) as JSON."""
    return write_text(path, json.dumps(result.to_json(), indent=2) + "\n")
