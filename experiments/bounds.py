"""How far from the best possible: the DP optimum and the clairvoyant bound, for the CLI and the benchmark.

* ``dp_value``: the exact DP's optimal expected profit where the scenario is small
  enough (``allocsim.baselines.dp``), else None with the reason;
* ``seed_bounds``: the perfect-foresight LP bound of each seed
  (``allocsim.baselines.clairvoyant``), on a process pool like the evaluation;
* ``seed_penalised``: the same LP with a dual-feasible sales penalty
  (``allocsim.baselines.info_relaxation``), fitted once per scenario on the last
  seeds of the tuning block (never evaluation seeds), next to the zero-penalty bound;
* ``seed_lagrangian``: the Lagrangian bound (``allocsim.baselines.lagrangian_bound``: the DC's
  stock priced, each location x SKU solved exactly), its prices fitted once per scenario on
  tuning seeds (``allocsim.experiments.lagrangian_store``); None where it is refused; where its
  DC or fallback part is random its mean is taken over at least ``LAGRANGIAN_SEEDS`` seeds (the
  given ones, then the seeds after them), cheap at a fraction of a second each;
* ``seed_lane_penalty``: the lane-penalty bound (``allocsim.baselines.lane_penalty``: perfect
  information on the DP's grid, penalised by the Lagrangian lanes' value functions) where the DP
  accepts the scenario, on the given seeds; None and why elsewhere;
* ``seed_history``: the history-priced Lagrangian bound (``allocsim.baselines.lagrangian_history``:
  DC prices per period and bucket of the demand so far; ``allocsim.experiments.history_store``), one
  exact value for every seed where it applies (tiny-dp, small-dp, retail-small), None and why
  elsewhere;
* the tightest bound (``allocsim.experiments.bound_choice``): of the penalised, Lagrangian,
  lane-penalty and history-priced bounds, the seed-mean with the lowest upper 95 % limit;
* the gap reference: the DP optimum where it exists, else the tightest bound
  (``reference_interval.gap_reference``);
* ``attach_gaps`` / ``gap_closed``: the benchmark's columns. Per episode row,
  ``gap_to_bound_pct = 100 x (bound - profit) / |bound|`` on that row's seed and,
  where the DP exists, ``gap_to_optimal_pct = 100 x (dp_value - profit) / |dp_value|``
  (an expectation against one episode, so single rows can be negative; the mean
  is the gap of the mean). Per policy, ``bound_gap_closed_pct`` is the share of
  the gap between the best tuned rule's mean profit (``registry.best_tuned_rule``) and
  the mean bound that the policy closes: 0 for that rule, 100 at the bound, negative below it.
  With the penalised and the tightest bound, rows also get ``penalised_bound``,
  ``tightest_bound`` and ``gap_to_reference_pct`` (against the DP optimum where it
  exists, else the row's tightest bound), and ``reference_gap_closed_pct`` is the
  closed share of the gap between the best rule and the mean reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from allocsim.baselines import dp
from allocsim.baselines.clairvoyant import BoundResult, clairvoyant_bound
from allocsim.baselines.info_relaxation import PenalisedResult, SalesPenalty, fit_penalty, penalised_bound
from allocsim.baselines.lagrangian_bound import (
    LagrangianResult,
    Split,
    lagrangian_bound,
    lanes_value,
    refusal,
)
from allocsim.baselines.lagrangian_dc import dc_plan
from allocsim.core.atomic_files import atomic_write
from allocsim.envs.scenario import Scenario
from allocsim.experiments.bound_choice import mean_ci95, tightest
from allocsim.experiments.evaluation import Row, env_for
from allocsim.experiments.history_store import seed_history
from allocsim.experiments.lagrangian_store import multipliers_for
from allocsim.experiments.lane_penalty_seeds import (
    SeedBound,
    lane_penalty_seeds,
    lane_prices,
    seed_lane_penalty,
)
from allocsim.experiments.penalty_store import load_penalty, penalty_key, save_penalty, store_dir
from allocsim.experiments.reference_interval import gap_reference, reference_interval
from allocsim.experiments.seed_pool import per_seed
from allocsim.experiments.seeds import BLOCK_SIZE, seed_block

GAP_KPIS = ("gap_to_bound_pct", "gap_to_optimal_pct", "gap_to_reference_pct")
CLOSED = "bound_gap_closed_pct"
REFERENCE_CLOSED = "reference_gap_closed_pct"
FIT_SEEDS = 200  # most seeds the penalty is fitted on (fewer on large LPs, see fit_seeds)
FIT_COLUMNS = 100_000  # fit seeds x LP columns budget: 200 seeds on tiny-dp, 5 on retail-medium
LAGRANGIAN_SEEDS = 100  # fewest seeds the Lagrangian mean is taken over where it is random
_PENALTIES: dict[str, SalesPenalty] = {}


@dataclass(frozen=True)
class DPValue:
    """The DP optimum of a scenario, or why there is none."""

    value: float | None
    note: str | None
    seconds: float = 0.0
    states: int = 0  # pre-decision states per period (largest)
    actions: int = 0  # candidate decisions per state (allocations x policy orders)
    pairs: int = 0  # feasible state-allocation pairs per period (largest)


def dp_value(scenario: Scenario) -> DPValue:
    """The optimal expected profit from the initial state, where the exact DP accepts the scenario."""
    env = env_for(scenario)
    reason = dp.refusal(env.network)
    if reason is not None:
        return DPValue(None, reason)
    sol = dp.solution_for(env.network, env.profile)
    return DPValue(sol.value, None, sol.seconds, sol.states, sol.decisions, sol.pairs)


def dp_table(scenario: Scenario) -> list[dict[str, Any]]:
    """The DP's optimal policy on every state it reaches (ValueError where there is no DP)."""
    env = env_for(scenario)
    return dp.solution_for(env.network, env.profile).table()


def write_dp_table(scenario: Scenario, path: Path) -> int:
    """Write the DP's policy table to CSV (atomically); the number of states written."""
    rows = dp_table(scenario)
    atomic_write(path, lambda tmp: pd.DataFrame(rows).to_csv(tmp, index=False))
    return len(rows)


def _bound_chunk(scenario: Scenario, seeds: Sequence[int]) -> list[BoundResult]:
    env = env_for(scenario)
    return [clairvoyant_bound(env.network, seed, env.profile) for seed in seeds]


def _penalised_chunk(scenario: Scenario, seeds: Sequence[int],
                     penalty: SalesPenalty) -> list[PenalisedResult]:
    env = env_for(scenario)
    return [penalised_bound(env.network, seed, env.profile, penalty) for seed in seeds]


def seed_bounds(
    scenario: Scenario,
    seeds: Sequence[int],
    n_workers: int | None = 1,
    on_done: Callable[[int], None] | None = None,
) -> list[BoundResult]:
    """The clairvoyant bound of every seed, in seed order, whatever ``n_workers``."""
    return per_seed(_bound_chunk, (scenario,), seeds, n_workers, on_done)


def fit_seeds(columns: int) -> list[int]:
    """Seeds the penalty is fitted on: the last of the tuning block, fewer the larger the LP."""
    count = max(2, min(FIT_SEEDS, FIT_COLUMNS // max(columns, 1)))
    return seed_block("tuning").seeds(count, offset=BLOCK_SIZE - count)


def penalty_for(scenario: Scenario) -> SalesPenalty:
    """The fitted sales penalty of ``scenario``: fitted once per scenario content and kept on disk
    (``allocsim.experiments.penalty_store``), so later runs and processes reuse it."""
    env = env_for(scenario)
    key = penalty_key(scenario, env.profile)
    if key not in _PENALTIES:
        path = store_dir() / f"{key}.npz"
        penalty = load_penalty(path)
        if penalty is None:
            columns = clairvoyant_bound(env.network, seed_block("tuning").start, env.profile).cols
            penalty = fit_penalty(env.network, env.profile, fit_seeds(columns))
            save_penalty(path, penalty)
        _PENALTIES[key] = penalty
    return _PENALTIES[key]


def seed_penalised(
    scenario: Scenario,
    seeds: Sequence[int],
    n_workers: int | None = 1,
    on_done: Callable[[int], None] | None = None,
) -> tuple[SalesPenalty, list[PenalisedResult]]:
    """The fitted penalty and, per seed in seed order, the penalised and the zero-penalty bound."""
    penalty = penalty_for(scenario)
    return penalty, per_seed(_penalised_chunk, (scenario, penalty), seeds, n_workers, on_done)


def _lagrangian_chunk(scenario: Scenario, seeds: Sequence[int], price: Any) -> list[LagrangianResult]:
    env = env_for(scenario)
    split = Split.of(env.network, env.profile)
    lanes = lanes_value(env.network, env.profile, price)
    dc = dc_plan(split.dc, price) if split.dc is not None else None  # the same on every seed
    return [lagrangian_bound(env.network, env.profile, price, seed, lanes, split, dc) for seed in seeds]


def lagrangian_seeds(scenario: Scenario, seeds: Sequence[int]) -> list[int]:
    """``seeds``, and where the Lagrangian bound changes with the seed, the seeds after the last up
    to ``LAGRANGIAN_SEEDS`` in all: its per-seed part costs a fraction of a second, so its mean
    gets a narrower interval than the penalised bound's on the same budget."""
    env = env_for(scenario)
    if len(seeds) >= LAGRANGIAN_SEEDS or refusal(env.network, env.profile) is not None:
        return list(seeds)
    if not Split.of(env.network, env.profile).random(env.network):
        return list(seeds)
    last = max(seeds)
    return [*seeds, *range(last + 1, last + 1 + LAGRANGIAN_SEEDS - len(seeds))]


def seed_lagrangian(
    scenario: Scenario, seeds: Sequence[int], n_workers: int | None = 1,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[LagrangianResult], str | None]:
    """The Lagrangian bound of every seed in seed order (fitting its prices first if needed),
    or no results and why it does not apply (then ``on_done`` hears nothing)."""
    env = env_for(scenario)
    why = refusal(env.network, env.profile)
    fitted = multipliers_for(scenario) if why is None else None
    if fitted is None:
        return [], why
    return per_seed(_lagrangian_chunk, (scenario, fitted.price), seeds, n_workers, on_done), None


def bound_report(
    scenario: Scenario, seeds: Sequence[int], n_workers: int | None = 1,
    on_done: Callable[[int], None] | None = None, history: bool = False,
    phase: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``allocsim bound --json`` document: DP value (or null) and the bound per seed.

    ``on_done`` receives counts of bounded seeds as they finish; ``phase`` what runs while none can
    finish (the DP before them, the other bounds after them: 4 s and 14 s of kernel compiles on a first
    run of tiny-dp), ``""`` when done. The history-priced bound is there wherever its prices are shipped
    or cached; ``history`` fits them where they are not (a one-off fit, up to half an hour on retail-small).
    """
    say = phase or (lambda text: None)
    if dp.refusal(env_for(scenario).network) is None:
        say("solving the exact DP")
    optimum = dp_value(scenario)
    say("")
    penalty, results = seed_penalised(scenario, seeds, n_workers, on_done)
    zero, zero_ci = mean_ci95([r.clairvoyant.bound for r in results])
    penalised, penalised_ci = mean_ci95([r.penalised for r in results])
    say("the Lagrangian, history-priced and lane-penalty bounds where they apply")
    lagrangian, why = seed_lagrangian(scenario, lagrangian_seeds(scenario, seeds), n_workers)
    history_run, history_why = seed_history(scenario, seeds, fit=history)  # first: its prices serve the next
    lane, lane_why = seed_lane_penalty(scenario, lane_penalty_seeds(scenario, seeds), n_workers)
    lane_kind = (lane_prices(scenario) or (None,))[0] if lane else None
    by_seed = {r.seed: r for r in lagrangian}
    by_lane = {r.seed: r for r in lane}
    by_history = {r.seed: r for r in history_run}
    say("")
    keys = _lagrangian_keys(scenario, lagrangian, why, (penalised, penalised_ci), optimum.value, lane,
                            lane_why, history_run, history_why)
    kind, reference = gap_reference(optimum.value, keys["tightest_bound"], keys["tightest_bound_kind"]) \
        or (None, None)
    return {
        "scenario": scenario.name,
        "dp_value": optimum.value,
        "dp_note": optimum.note,
        "dp_states": optimum.states, "dp_actions": optimum.actions, "dp_pairs": optimum.pairs,
        "dp_seconds": round(optimum.seconds, 3),
        "zero_penalty_mean": zero, "zero_penalty_ci95": zero_ci,
        "penalised_mean": penalised, "penalised_ci95": penalised_ci,
        "tightening_pct": 100.0 * (zero - penalised) / abs(zero) if zero else math.nan,
        "seeds_penalised_above_zero": sum(r.penalised > r.clairvoyant.bound + 1e-6 for r in results),
        "penalty": {"alpha": list(penalty.alpha), "note": penalty.note,
                    "fit_seeds": _span(penalty.fitted_on) if penalty.fitted_on else None},
        "reference": reference,
        "reference_kind": kind,
        **keys,
        "lane_penalty_prices": lane_kind,
        "reference_interval": _interval_record(
            results,
            {"lagrangian_bound": lagrangian, "lane_penalty_bound": lane, "history_bound": history_run},
            keys["tightest_bound_kind"], optimum.value),
        "bounds": [
            {"seed": r.seed, "bound": r.clairvoyant.bound, "penalised_bound": r.penalised,
             "lagrangian_bound": by_seed[r.seed].bound if by_seed else None,
             "rows": r.clairvoyant.rows, "cols": r.clairvoyant.cols, "nnz": r.clairvoyant.nnz,
             "solve_seconds": round(r.clairvoyant.solve_seconds, 4),
             "penalised_seconds": round(r.seconds, 4),
             "lagrangian_seconds": round(by_seed[r.seed].seconds, 4) if by_seed else None,
             "lane_penalty_bound": by_lane[r.seed].bound if by_lane else None,
             "lane_penalty_seconds": round(by_lane[r.seed].seconds, 4) if by_lane else None,
             "history_bound": by_history[r.seed].bound if by_history else None}
            for r in results
        ],
    }


def tightest_per_seed(penalised: dict[int, float], lagrangian: Sequence[LagrangianResult],
                      history: Sequence[SeedBound] = ()) -> tuple[str, pd.Series]:
    """The tightest bound's kind (``tightest`` of the seed-means on the seeds all of them have: the
    penalised, the Lagrangian and the history-priced bound, the last two where given) and its value per
    seed (index seed): the bound side of the reference interval."""
    pen = pd.Series(penalised, dtype=float)
    others = {kind: pd.Series({r.seed: r.bound for r in results}, dtype=float)
              for kind, results in (("lagrangian_bound", lagrangian), ("history_bound", history)) if results}
    common = pen.index
    for values in others.values():
        common = common.intersection(values.index)
    if not others or common.empty:
        return "penalised_bound", pen
    means = {kind: mean_ci95(list(values.loc[common])) for kind, values in others.items()}
    kind, _ = tightest(mean_ci95(list(pen.loc[common])), means.get("lagrangian_bound"),
                       history=means.get("history_bound"))
    return kind, (others[kind].loc[common] if kind in others else pen)


def _lagrangian_keys(scenario: Scenario, results: Sequence[LagrangianResult], why: str | None,
                     penalised: tuple[float, float], optimum: float | None,
                     lane: Sequence[SeedBound] = (), lane_why: str | None = None,
                     history: Sequence[SeedBound] = (), history_why: str | None = None) -> dict[str, Any]:
    """The report's Lagrangian, lane-penalty and history-priced keys and the tightest bound per seed-mean."""
    mean, ci = mean_ci95([r.bound for r in results]) if results else (None, None)
    lane_mean, lane_ci = mean_ci95([r.bound for r in lane]) if lane else (None, None)
    hist_mean, hist_ci = mean_ci95([r.bound for r in history]) if history else (None, None)
    tight, best = tightest(penalised, (mean, ci) if mean is not None else None,
                           (lane_mean, lane_ci) if lane_mean is not None else None,
                           (hist_mean, hist_ci) if hist_mean is not None else None)
    fitted = multipliers_for(scenario) if results else None
    return {
        "lagrangian_mean": mean, "lagrangian_ci95": ci, "lagrangian_note": why,
        "lane_penalty_mean": lane_mean, "lane_penalty_ci95": lane_ci, "lane_penalty_note": lane_why,
        "lane_penalty_seeds": _span([r.seed for r in lane]) if lane else None,
        "history_mean": hist_mean, "history_ci95": hist_ci, "history_note": history_why,
        "lagrangian_seeds": _span([r.seed for r in results]) if results else None,
        "lagrangian_fit": None if fitted is None else {
            "bound": fitted.fit_bound, "master": fitted.master, "rounds": fitted.rounds,
            "seconds": round(fitted.seconds, 2), "fit_seeds": _span(fitted.fitted_on)},
        "tightest_bound": best[0], "tightest_bound_ci95": best[1], "tightest_bound_kind": tight,
        "tightest_above_dp_pct": 100.0 * (best[0] - optimum) / abs(optimum) if optimum else None,
    }


def _interval_record(results: Sequence[PenalisedResult], others: dict[str, Sequence[Any]], kind: str,
                     optimum: float | None) -> dict[str, Any] | None:
    """The reference interval against the report's tightest bound (``kind``: the penalised bound or one of
    ``others``, per-seed results with ``seed`` and ``bound``, all its seeds) with the DP optimum as its
    achievable side, or None without a DP (no policy is played here: ``allocsim benchmark`` fills that
    side)."""
    values = pd.Series({r.seed: r.penalised for r in results})
    if kind in others:
        values = pd.Series({r.seed: r.bound for r in others[kind]})
    interval = reference_interval(None, None, optimum, values, kind)
    return interval.record() if interval is not None else None


def _span(seeds: Sequence[int]) -> dict[str, int]:
    return {"first": seeds[0], "last": seeds[-1], "count": len(seeds)}


def _gap(reference: float, profit: float) -> float:
    return 100.0 * (reference - profit) / abs(reference) if reference else math.nan


def attach_gaps(rows: Sequence[Row], bounds: dict[int, float], optimum: float | None,
                penalised: dict[int, float] | None = None, tight: pd.Series | None = None,
                tight_kind: str | None = None) -> None:
    """Add ``bound``, ``gap_to_bound_pct``, (with a DP) ``gap_to_optimal_pct`` and, given the penalised
    and the tightest bounds per seed (``tightest_per_seed``), ``penalised_bound``, ``tightest_bound`` and
    ``gap_to_reference_pct`` (against ``gap_reference``) to each episode row."""
    for row in rows:
        bound = bounds[row["seed"]]
        row["bound"] = bound
        row["gap_to_bound_pct"] = _gap(bound, row["profit"])
        if optimum is not None:
            row["gap_to_optimal_pct"] = _gap(optimum, row["profit"])
        if penalised is not None and tight is not None:
            row["penalised_bound"] = penalised[row["seed"]]
            row["tightest_bound"] = float(tight[row["seed"]])
            _, reference = gap_reference(optimum, row["tightest_bound"], tight_kind) or ("", math.nan)
            row["gap_to_reference_pct"] = _gap(reference, row["profit"])


def _closed_share(profit: pd.Series, best: float, reference: float) -> pd.Series | float:
    gap = reference - best
    return 100.0 * (profit - best) / gap if gap > 1e-9 else math.nan


def gap_closed(summary: pd.DataFrame, rule: str | None, optimum: float | None = None,
               tight_kind: str | None = None) -> pd.DataFrame:
    """``summary`` with ``bound_gap_closed_pct`` (each policy's share of the gap from the best tuned rule,
    ``rule`` as ``registry.best_tuned_rule`` chose it, to the bound) and, with the tightest
    bound (of ``tight_kind``), ``reference_gap_closed_pct`` (the same against ``gap_reference``:
    ``optimum`` where given, else the mean tightest bound)."""
    if "bound_mean" not in summary:
        return summary
    out = summary.copy()
    ranked = out[out["policy"] == rule]
    tight = "tightest_bound_mean" in out
    if ranked.empty:
        out[CLOSED] = math.nan
        if tight:
            out[REFERENCE_CLOSED] = math.nan
        return out
    best = float(ranked["profit_mean"].iloc[0])
    out[CLOSED] = _closed_share(out["profit_mean"], best, float(out["bound_mean"].iloc[0]))
    if tight:
        found = gap_reference(optimum, float(out["tightest_bound_mean"].iloc[0]), tight_kind)
        out[REFERENCE_CLOSED] = _closed_share(out["profit_mean"], best, found[1]) if found else math.nan
    return out
