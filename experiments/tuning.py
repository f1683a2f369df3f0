"""``allocsim tune``: grid search of a rule's parameters on the tuning seed block.

Every grid point plays the same tuning seeds (common random numbers); the point
with the highest mean profit wins and is saved as JSON to
``<tuned-dir>/<scenario name>/<policy>[.events].json`` (``tuned/`` in the working
directory by default, one file per timing mode), which ``allocsim benchmark`` loads
before the parameters shipped for the presets (``allocsim.baselines.tuned_params``).
A rule's ``holdback`` share is refined around the coarse winner (``grids.holdback_refinement``);
a winner on the edge of its range is named (``TuneResult.warnings``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allocsim.baselines.tuned_params import DEFAULT_TUNED_DIR, tuned_path
from allocsim.core.atomic_files import write_text
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import PolicySpec, Row, evaluate
from allocsim.experiments.grids import (
    REFINE_POINTS,
    Grid,
    edge_warnings,
    grid_for,
    holdback_refinement,
    valid_points,
)
from allocsim.experiments.seeds import seed_block

if TYPE_CHECKING:  # the intervals load SciPy's stats (2.5 s on a busy machine): imported by rank()
    from allocsim.experiments.stats import Estimate

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
    refined: tuple[float, ...] = ()  # holdback shares added around the coarse winner

    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    @property
    def warnings(self) -> list[str]:
        """One line per parameter whose winner sits on the edge of its searched range."""
        grid = dict(self.grid)
        if self.refined:
            grid["holdback"] = sorted({*grid["holdback"], *self.refined})
        return edge_warnings(self.policy, grid, self.best.params)

    def to_json(self) -> dict[str, Any]:
        """What the tuned-parameters file holds."""
        return {
            "scenario": self.scenario,
            "scenario_hash": self.scenario_hash,
            "demand_stream": DEMAND_STREAM,
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
            "holdback_refined": list(self.refined),
        }


def label_of(policy: str, params: dict[str, Any]) -> str:
    """``min-max[min_days=2,max_days=5]``: a grid point's row label."""
    parts = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()]
    return f"{policy}[{','.join(parts)}]"


def planned_points(scenario: Scenario, policy: str, overrides: Grid | None = None) -> int:
    """Grid points ``tune`` plays at most: the grid's, plus the holdback refinement's."""
    grid = grid_for(policy, scenario.timing.holdback_decision is not None, overrides, scenario)
    return len(valid_points(policy, grid)) + (REFINE_POINTS if refines(grid, overrides) else 0)


def refines(grid: Grid, overrides: Grid | None) -> bool:
    """The holdback is refined when it is searched and the user did not set its values."""
    return "holdback" in grid and "holdback" not in (overrides or {})


def tune(
    scenario: Scenario,
    policy: str,
    episodes: int,
    *,
    n_workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
    overrides: Grid | None = None,
) -> TuneResult:
    """Evaluate every grid point of ``policy`` on the first ``episodes`` tuning seeds; rank by profit.

    With ``timing.holdback_decision`` in the scenario, a rule's ``holdback`` is searched too, and
    then refined in steps of 1/32 around the winner with its other parameters (unless
    ``overrides`` sets it). ``overrides`` replaces parameters' values (``--grid``)."""
    grid = grid_for(policy, scenario.timing.holdback_decision is not None, overrides, scenario)
    points = valid_points(policy, grid)
    if not points:
        raise ValueError(f"the grid of {policy!r} has no valid combination")
    seeds = seed_block("tuning").seeds(episodes)
    specs = [PolicySpec(policy, p, label_of(policy, p)) for p in points]
    rows = list(evaluate(scenario, specs, seeds, n_workers=n_workers, on_done=on_done))
    ranked = rank(scenario.name, policy, seeds, grid, specs, rows)
    refined: list[float] = []
    if refines(grid, overrides):
        best = ranked.best.params
        refined = holdback_refinement(float(best["holdback"]), grid["holdback"])
        more = [PolicySpec(policy, p, label_of(policy, p))
                for p in valid_points(policy, {**{k: [v] for k, v in best.items()}, "holdback": refined})]
        rows += evaluate(scenario, more, seeds, n_workers=n_workers, on_done=on_done) if more else []
        if on_done is not None and len(more) < REFINE_POINTS:
            on_done((REFINE_POINTS - len(more)) * len(seeds))  # the planned points not needed
        ranked = rank(scenario.name, policy, seeds, grid, specs + more, rows)
    return replace(ranked, scenario_hash=scenario.content_hash(), timing=scenario.timing.mode,
                   refined=tuple(refined))


def rank(
    scenario: str, policy: str, seeds: list[int], grid: dict[str, list[Any]],
    specs: Sequence[PolicySpec], rows: Sequence[Row],
) -> TuneResult:
    """Order the grid points by mean profit; paired profit difference against the best."""
    from allocsim.experiments.stats import mean_ci, paired_diff

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


@dataclass(frozen=True)
class TuneJob:
    """One rule ``allocsim tune`` searches: its grid overrides, planned points and target file."""

    policy: str
    overrides: Grid
    points: int
    target: Path


def plan_jobs(scenario: Scenario, policy: str, grid_options: Sequence[str], out: Path | None,
              tuned_dir: Path = DEFAULT_TUNED_DIR) -> list[TuneJob]:
    """The rules ``tune --policy P|all --grid ... --out F`` searches; ValueError on a bad option.

    ``all``: every tunable rule set (``grids.tunable_rules``), each ``--grid`` parameter applied to
    the rules that have it (one no rule has is refused); ``--out`` names one file, so it goes with a
    single rule only."""
    from allocsim.experiments.grids import parse_grid_option, tunable_rules

    names = tunable_rules() if policy == "all" else [policy]
    if out is not None and len(names) > 1:
        raise ValueError(f"--out names one file; with --policy all each rule is saved under "
                         f"{tuned_dir}/{scenario.name}/")
    parsed = dict(parse_grid_option(text) for text in grid_options)
    holdback = scenario.timing.holdback_decision is not None
    jobs = []
    for name in names:
        fields = set(grid_for(name, holdback, scenario=scenario))
        mine = {k: v for k, v in parsed.items() if policy != "all" or k in fields or k in _params_of(name)}
        jobs.append(TuneJob(name, mine, planned_points(scenario, name, mine),
                            out or tuned_path(tuned_dir, scenario.name, name, scenario.timing.mode)))
    unused = set(parsed) - {k for job in jobs for k in job.overrides}
    if unused:
        raise ValueError(f"--grid: no rule searched here has a parameter {sorted(unused)[0][:40]!r}")
    return jobs


def _params_of(name: str) -> set[str]:
    """The parameters of rule ``name``'s ``Params`` model (none for a rule without one)."""
    from allocsim.baselines.registry import POLICIES

    model = getattr(POLICIES[name], "Params", None)
    return set(model.model_fields) - {"holdback"} if model is not None else set()
