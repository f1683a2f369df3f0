"""Performance benchmark of the allocsim environment (one process, wall-clock figures).

Prints, in one run: (1) per preset, steps/s under random actions sampled once up front (so
sampling cost is excluded; whole episodes; median of repeats) and reset time in ms (median);
(2) a scaling table over synthetic networks of L locations x S SKUs; (3) the same figures for
gym-invmgmt's ``GymInvMgmt/MultiEchelon-v0`` (one product, 9 nodes) and the ratio
retail-medium / gym-invmgmt; (4) the issue's targets as PASS / MISS / SKIP lines.

Steps/s counts only time spent in ``step``: each episode's step loop is timed, the resets
between episodes are not. Both envs come from ``gym.make(...).unwrapped``, so neither pays
for Gymnasium's checker wrappers. The garbage collector is off inside timing loops.
Helpers come from ``harness.py`` beside this file; figures go to ``bench/results/bench_env.json``.
Usage: ``python bench/bench_env.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
from harness import (  # beside this file (on sys.path)
    FULL,
    QUICK,
    REFERENCE_PRESET,
    Budget,
    gc_paused,
    machine_info,
    make_peer,
    median,
    print_targets,
    sample_actions,
    target,
    timed_episode,
    write_results,
)

from allocsim.envs import ENV_ID
from allocsim.envs.scenario import Scenario, preset_names, scenario_from_dict

GRID_LOCATIONS = (5, 20, 50, 100)
GRID_SKUS = (5, 20, 50)


@dataclass
class Figures:
    """Measured speed of one environment."""

    name: str
    action_dim: int
    steps_per_s: float
    repeats_steps_per_s: list[float]
    reset_ms: float
    resets_timed: int
    steps_timed: int
    episodes: int


def measure(name: str, env: gym.Env[Any, Any], budget: Budget, seed: int = 0) -> Figures:
    """Steps/s (median over repeats of whole episodes) and reset ms (median) of ``env``."""
    actions = sample_actions(env.action_space, seed)
    rows = len(actions)
    step = env.step
    env.reset(seed=seed)  # warm-up: first-call costs stay out of the figures
    for i in range(min(20, rows)):
        if any(step(actions[i])[2:4]):
            break
    rates: list[float] = []
    k = total_episodes = 0  # k counts timed steps and walks the pre-sampled actions
    for rep in range(budget.repeats):
        first, episodes, elapsed = k, 0, 0.0
        with gc_paused():
            while episodes < budget.min_episodes or elapsed < budget.min_seconds:
                k, seconds = timed_episode(env, actions, k, seed + 1_000 * (rep + 1) + episodes)
                elapsed += seconds
                episodes += 1
        rates.append((k - first) / elapsed)
        total_episodes += episodes
    reset_times: list[float] = []
    with gc_paused():
        begin = time.perf_counter()
        for i in range(budget.resets):
            start = time.perf_counter()
            env.reset(seed=seed + 100_000 + i)
            reset_times.append(time.perf_counter() - start)
            if i >= 19 and time.perf_counter() - begin > budget.reset_seconds:
                break
    return Figures(name, int(actions.shape[1]), median(rates), [round(r, 1) for r in rates],
                   median(reset_times) * 1e3, len(reset_times), k, total_episodes)


def make_allocsim(scenario: str | Scenario) -> gym.Env[Any, Any]:
    """An allocsim env without Gymnasium's wrappers."""
    return gym.make(ENV_ID, scenario=scenario).unwrapped


def synthetic_scenario(n_locations: int, n_skus: int, periods: int = 60) -> Scenario:
    """One DC, ``n_locations`` stores on one 'store' channel, ``n_skus`` SKUs, Poisson demand."""
    skus = [f"sku-{i:02d}" for i in range(n_skus)]
    sku_rows = [
        {"name": sku, "unit_cost": 5.0 + i % 7, "price": {"store": 12.0 + 2 * (i % 7)},
         "holding_cost": 0.02, "salvage_value": 2.0}
        for i, sku in enumerate(skus)
    ]
    location_rows = [  # capacity 30 per SKU; initial stock 6 per SKU fits
        {"name": f"store-{j:03d}", "channels": ["store"], "capacity": 30 * n_skus, "lead_time": 1 + j % 2,
         "shipping_cost": 0.5, "initial_stock": dict.fromkeys(skus, 6)}
        for j in range(n_locations)
    ]
    replenishment = {"rule": "base-stock", "level": dict.fromkeys(skus, 40 * n_locations)}
    data = {
        "name": f"synthetic-{n_locations}x{n_skus}",
        "periods": periods,
        "skus": sku_rows,
        "channels": [{"name": "store", "unmet": "lost", "shortage_penalty": 1.0}],
        "supplier": {"lead_time": {"kind": "fixed", "periods": 2}, "replenishment": replenishment},
        "dc": {"initial_stock": dict.fromkeys(skus, 20 * n_locations)},
        "locations": location_rows,
        "demand": {"streams": [{"sku": "*", "location": "*", "mean": 3.0}]},
    }
    return scenario_from_dict(data, source=f"synthetic {n_locations}x{n_skus}")


def _repeats(fig: Figures) -> str:
    return ", ".join(f"{r:,.0f}" for r in fig.repeats_steps_per_s)


def run_presets(budget: Budget) -> dict[str, Figures]:
    """Measure and print every shipped preset."""
    print(f"{'preset':<24}{'action dim':>11}{'steps/s':>11}{'reset ms':>10}   repeats (steps/s)")
    presets: dict[str, Figures] = {}
    for name in preset_names():
        fig = presets[name] = measure(name, make_allocsim(name), budget)
        figures = f"{fig.action_dim:>11}{fig.steps_per_s:>11,.0f}{fig.reset_ms:>10.3f}"
        print(f"{name:<24}{figures}   {_repeats(fig)}")
    return presets


def run_scaling(budget: Budget) -> list[dict[str, Any]]:
    """Measure and print the locations x SKUs grid of synthetic scenarios."""
    print("\nscaling: synthetic scenarios, 60 periods; each cell is steps/s | reset ms")
    print(f"{'':<8}" + "".join(f"{f'S={s} SKUs':>22}" for s in GRID_SKUS))
    cells: list[dict[str, Any]] = []
    for n_loc in GRID_LOCATIONS:
        row = f"{f'L={n_loc}':<8}"
        for n_sku in GRID_SKUS:
            fig = measure(f"{n_loc}x{n_sku}", make_allocsim(synthetic_scenario(n_loc, n_sku)), budget)
            cells.append({"locations": n_loc, "skus": n_sku, **asdict(fig)})
            row += f"{f'{fig.steps_per_s:,.0f} | {fig.reset_ms:.2f}':>22}"
        print(row, flush=True)
    return cells


def run_invmgmt(budget: Budget) -> tuple[Figures | None, str]:
    """Measure and print gym-invmgmt's MultiEchelon env, or say why it is skipped."""
    env, detail = make_peer(wrapped=False)
    if env is None:
        print(f"\ngym-invmgmt comparison SKIPPED: {detail}")
        return None, detail
    fig = measure("gym-invmgmt", env, budget)
    nodes = len(getattr(getattr(env, "network", None), "all_nodes", ()))
    periods = getattr(env, "num_periods", "?")
    print(f"\ngym-invmgmt {detail} MultiEchelon-v0 (1 product, {nodes} nodes, {periods} periods, "
          f"action dim {fig.action_dim}): {fig.steps_per_s:,.0f} steps/s, reset {fig.reset_ms:.3f} ms; "
          f"repeats {_repeats(fig)}")
    return fig, detail


def judge(
    presets: dict[str, Figures], scaling: list[dict[str, Any]], ratio: float | None
) -> list[dict[str, Any]]:
    """The issue's targets with the measured figures, printed as PASS / MISS / SKIP lines."""
    reference = presets[REFERENCE_PRESET].steps_per_s if REFERENCE_PRESET in presets else None
    worst = max(presets.values(), key=lambda f: f.reset_ms)
    big = next((c["steps_per_s"] for c in scaling if (c["locations"], c["skus"]) == (100, 50)), None)
    targets = [
        target(f"{REFERENCE_PRESET} single env", reference, ">=", 15_000, "steps/s"),
        target(f"reset, every preset (worst: {worst.name})", worst.reset_ms, "<=", 2.0, "ms"),
        target("100 locations x 50 SKUs single env", big, ">=", 1_500, "steps/s"),
        target(f"{REFERENCE_PRESET} / gym-invmgmt steps/s", ratio, ">=", 2.0, "x"),
    ]
    print_targets(targets)
    return targets


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the tables and targets, optionally write JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter loops")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the figures here (default bench/results/bench_env.json)")
    args = parser.parse_args(argv)
    budget, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    began = time.perf_counter()
    machine = machine_info()
    print(f"allocsim env benchmark ({mode}): " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    print(f"steps/s = median of {budget.repeats} repeats, each >= {budget.min_episodes} episode(s) and "
          f">= {budget.min_seconds} s of stepping; reset ms = median of up to {budget.resets} seeds\n")
    presets = run_presets(budget)
    scaling = run_scaling(budget)
    invmgmt, detail = run_invmgmt(budget)
    ratio = None
    if invmgmt is not None and REFERENCE_PRESET in presets:
        ratio = presets[REFERENCE_PRESET].steps_per_s / invmgmt.steps_per_s
        print(f"ratio {REFERENCE_PRESET} / gym-invmgmt: {ratio:.2f}x")
    targets = judge(presets, scaling, ratio)
    seconds = time.perf_counter() - began
    print(f"\ntotal benchmark time {seconds:.0f} s")
    invmgmt_json = {"version": detail, **asdict(invmgmt)} if invmgmt else {"skipped": detail}
    write_results("bench_env", {
        "mode": mode, "budget": asdict(budget),
        "presets": {name: asdict(fig) for name, fig in presets.items()}, "scaling": scaling,
        "gym_invmgmt": invmgmt_json, "ratio_reference_to_gym_invmgmt": ratio,
        "targets": targets, "seconds": round(seconds, 1),
    }, args.json, "python bench/bench_env.py" + (" --quick" if args.quick else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
