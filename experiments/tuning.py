"""``allocsim tune``: grid search of a rule's parameters on the tuning seed block.

Every grid point plays the same tuning seeds (common random numbers); the point
with the highest mean profit wins and is saved as JSON to
``<tuned-dir>/<scenario name>/<policy>.json`` (``tuned/`` in the working
directory by default), which ``allocsim benchmark`` loads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import PolicySpec, Row, evaluate
from allocsim.experiments.files import child_path, write_text
from allocsim.experiments.grids import grid_for, grid_points
from allocsim.experiments.seeds import seed_block
from allocsim.experiments.stats import Estimate, mean_ci, paired_diff

DEFAULT_TUNED_DIR = Path("tuned")
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

    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    def to_json(self) -> dict[str, Any]:
        """What the tuned-parameters file holds."""
        return {
            "scenario": self.scenario,
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
    """Evaluate every grid point of ``policy`` on the first ``episodes`` tuning seeds; rank by profit."""
    points = grid_points(policy)
    if not points:
        raise ValueError(f"the grid of {policy!r} has no valid combination")
    seeds = seed_block("tuning").seeds(episodes)
    specs = [PolicySpec(policy, p, label_of(policy, p)) for p in points]
    rows = evaluate(scenario, specs, seeds, n_workers=n_workers, on_done=on_done)
    return rank(scenario.name, policy, seeds, grid_for(policy), specs, rows)


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


def tuned_path(root: Path, scenario: str, policy: str) -> Path:
    """Where the tuned parameters of ``policy`` on ``scenario`` live under ``root`` (never outside it)."""
    return child_path(Path(root), scenario, f"{policy}.json")


def save_tuned(path: Path, result: TuneResult) -> Path:
    """Atomically write the winner's parameters (and how they were found) as JSON."""
    return write_text(path, json.dumps(result.to_json(), indent=2) + "\n")


def load_tuned(root: Path, scenario: str, policy: str) -> dict[str, Any] | None:
    """Tuned parameters of ``policy`` on ``scenario``, or None when no file exists.

    A file that is not JSON, or has no ``params`` object, raises ValueError naming it.
    """
    path = tuned_path(root, scenario, policy)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:  # unreadable, not UTF-8 or not JSON
        detail = " ".join(str(err).split())[:120] or type(err).__name__
        raise ValueError(f"{path}: cannot read tuned parameters ({detail})") from None
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(params, dict):
        raise ValueError(f"{path}: expected a JSON object with a 'params' object")
    return params
