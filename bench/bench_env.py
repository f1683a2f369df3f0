"""Performance benchmark of the allocsim environment (one process, wall-clock figures).

Prints, in one run:

1. per preset: steps/s under random actions (sampled once up front, so sampling cost
   is excluded; whole episodes; median of repeats) and reset time in ms (median);
2. a scaling table over synthetic networks of L locations x S SKUs;
3. the same steps/s figure for gym-invmgmt's ``GymInvMgmt/MultiEchelon-v0``
   (one product, 9 nodes), and the ratio retail-medium / gym-invmgmt;
4. the issue's targets as PASS / MISS (or SKIP) lines with the measured figure.

Steps/s counts only time spent in ``step``: each episode's step loop is timed, resets
between episodes are not. Both envs are built with ``gym.make(...).unwrapped``, so
neither pays for Gymnasium's checker wrappers. The garbage collector is off inside
timing loops. Usage: ``python bench/bench_env.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from allocsim.envs import ENV_ID
from allocsim.envs.scenario import Scenario, preset_names, scenario_from_dict

INVMGMT_ID = "GymInvMgmt/MultiEchelon-v0"
REFERENCE_PRESET = "retail-medium"
GRID_LOCATIONS = (5, 20, 50, 100)
GRID_SKUS = (5, 20, 50)
ACTION_ROWS = 512  # pre-sampled actions, used in a cycle


@dataclass(frozen=True)
class Budget:
    """How long to measure: repeats of whole episodes, and a capped number of resets."""

    repeats: int
    min_episodes: int  # per repeat
    min_seconds: float  # per repeat: keep running whole episodes until this much step time
    resets: int
    reset_seconds: float  # stop resetting early past this (at least 20 resets)


FULL = Budget(repeats=5, min_episodes=3, min_seconds=0.5, resets=200, reset_seconds=1.5)
QUICK = Budget(repeats=3, min_episodes=1, min_seconds=0.15, resets=50, reset_seconds=0.3)


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


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collect once, then keep the garbage collector off for the timed block."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def sample_actions(env: gym.Env[Any, Any], seed: int, rows: int = ACTION_ROWS) -> NDArray[Any]:
    """``rows`` random actions from the env's own action space, drawn before any timing."""
    env.action_space.seed(seed)
    return np.stack([np.asarray(env.action_space.sample()) for _ in range(rows)])


def measure(name: str, env: gym.Env[Any, Any], budget: Budget, seed: int = 0) -> Figures:
    """Steps/s (median over repeats of whole episodes) and reset ms (median) of ``env``."""
    actions = sample_actions(env, seed)
    rows = len(actions)
    step = env.step
    env.reset(seed=seed)  # warm-up: first-call costs stay out of the figures
    for i in range(min(20, rows)):
        if any(step(actions[i])[2:4]):
            break
    rates: list[float] = []
    k = total_steps = total_episodes = 0
    for rep in range(budget.repeats):
        steps = episodes = 0
        elapsed = 0.0
        with gc_paused():
            while episodes < budget.min_episodes or elapsed < budget.min_seconds:
                env.reset(seed=seed + 1_000 * (rep + 1) + episodes)
                done = False
                start = time.perf_counter()
                while not done:
                    _, _, terminated, truncated, _ = step(actions[k % rows])
                    k += 1
                    steps += 1
                    done = terminated or truncated
                elapsed += time.perf_counter() - start
                episodes += 1
        rates.append(steps / elapsed)
        total_steps += steps
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
    return Figures(
        name=name,
        action_dim=int(actions.shape[1]),
        steps_per_s=statistics.median(rates),
        repeats_steps_per_s=[round(r, 1) for r in rates],
        reset_ms=statistics.median(reset_times) * 1e3,
        resets_timed=len(reset_times),
        steps_timed=total_steps,
        episodes=total_episodes,
    )


def make_allocsim(scenario: str | Scenario) -> gym.Env[Any, Any]:
    """An allocsim env without Gymnasium's wrappers."""
    return gym.make(ENV_ID, scenario=scenario).unwrapped


def synthetic_scenario(n_locations: int, n_skus: int, periods: int = 60) -> Scenario:
    """One DC, ``n_locations`` stores on one channel, ``n_skus`` SKUs, Poisson demand."""
    skus = [f"sku-{i:02d}" for i in range(n_skus)]
    return scenario_from_dict(
        {
            "name": f"synthetic-{n_locations}x{n_skus}",
            "periods": periods,
            "skus": [
                {
                    "name": sku,
                    "unit_cost": 5.0 + i % 7,
                    "price": {"store": 12.0 + 2 * (i % 7)},
                    "holding_cost": 0.02,
                    "salvage_value": 2.0,
                }
                for i, sku in enumerate(skus)
            ],
            "channels": [{"name": "store", "unmet": "lost", "shortage_penalty": 1.0}],
            "supplier": {
                "lead_time": {"kind": "fixed", "periods": 2},
                "replenishment": {"rule": "base-stock", "level": {s: 40 * n_locations for s in skus}},
            },
            "dc": {"initial_stock": {s: 20 * n_locations for s in skus}},
            "locations": [
                {
                    "name": f"store-{j:03d}",
                    "channels": ["store"],
                    "capacity": 30 * n_skus,  # initial stock is 6 per SKU, so it fits
                    "lead_time": 1 + j % 2,
                    "shipping_cost": 0.5,
                    "initial_stock": {s: 6 for s in skus},
                }
                for j in range(n_locations)
            ],
            "demand": {"streams": [{"sku": "*", "location": "*", "mean": 3.0}]},
        },
        source=f"synthetic {n_locations}x{n_skus}",
    )


def make_invmgmt() -> tuple[gym.Env[Any, Any] | None, str]:
    """gym-invmgmt's MultiEchelon env (registered on import), or None and the reason."""
    try:
        module = importlib.import_module("gym_invmgmt")
    except ImportError as err:
        return None, f"gym-invmgmt cannot be imported ({err}); install it: pip install -e '.[bench]'"
    if INVMGMT_ID not in gym.registry:
        return None, f"gym-invmgmt {module.__version__} does not register {INVMGMT_ID}"
    return gym.make(INVMGMT_ID).unwrapped, str(getattr(module, "__version__", "?"))


def target(name: str, measured: float | None, threshold: float, unit: str) -> dict[str, Any]:
    """One target (higher is better unless ``unit`` is 'ms'), judged PASS / MISS / SKIP."""
    if measured is None:
        status = "SKIP"
    elif unit == "ms":
        status = "PASS" if measured <= threshold else "MISS"
    else:
        status = "PASS" if measured >= threshold else "MISS"
    return {"target": name, "threshold": threshold, "unit": unit, "measured": measured,
            "status": status}


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to a temp file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the tables and targets, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter loops")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    args = parser.parse_args(argv)
    budget = QUICK if args.quick else FULL
    began = time.perf_counter()
    print(f"allocsim env benchmark ({'quick' if args.quick else 'full'}): python "
          f"{platform.python_version()}, numpy {np.__version__}, gymnasium {gym.__version__}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}")
    print(f"steps/s: median of {budget.repeats} repeats, each >= {budget.min_episodes} "
          f"episode(s) and >= {budget.min_seconds} s of stepping; reset: median of up to "
          f"{budget.resets} seeds\n")

    print(f"{'preset':<24}{'action dim':>11}{'steps/s':>11}{'reset ms':>10}   repeats (steps/s)")
    presets: dict[str, Figures] = {}
    for name in preset_names():
        fig = measure(name, make_allocsim(name), budget)
        presets[name] = fig
        print(f"{name:<24}{fig.action_dim:>11}{fig.steps_per_s:>11,.0f}{fig.reset_ms:>10.3f}"
              f"   {', '.join(f'{r:,.0f}' for r in fig.repeats_steps_per_s)}")

    print(f"\nscaling (synthetic, 60 periods): steps/s | reset ms\n{'L x S':<12}", end="")
    print("".join(f"{f'S={s}':>22}" for s in GRID_SKUS))
    scaling: list[dict[str, Any]] = []
    for n_loc in GRID_LOCATIONS:
        cells: list[str] = []
        for n_sku in GRID_SKUS:
            fig = measure(f"{n_loc}x{n_sku}", make_allocsim(synthetic_scenario(n_loc, n_sku)), budget)
            scaling.append({"locations": n_loc, "skus": n_sku, **asdict(fig)})
            cells.append(f"{f'{fig.steps_per_s:,.0f} | {fig.reset_ms:.2f}':>22}")
        print(f"{f'L={n_loc}':<12}" + "".join(cells), flush=True)

    invmgmt_env, detail = make_invmgmt()
    invmgmt: Figures | None = None
    reference = presets[REFERENCE_PRESET].steps_per_s
    ratio: float | None = None
    if invmgmt_env is None:
        print(f"\ngym-invmgmt comparison SKIPPED: {detail}")
    else:
        invmgmt = measure(INVMGMT_ID, invmgmt_env, budget)
        ratio = reference / invmgmt.steps_per_s
        nodes = len(getattr(getattr(invmgmt_env, "network", None), "all_nodes", ()))
        print(f"\ngym-invmgmt {detail} {INVMGMT_ID} (1 product, {nodes} nodes, "
              f"{getattr(invmgmt_env, 'num_periods', '?')} periods):"
              f" {invmgmt.steps_per_s:,.0f} steps/s, reset {invmgmt.reset_ms:.3f} ms"
              f" (action dim {invmgmt.action_dim}; repeats "
              f"{', '.join(f'{r:,.0f}' for r in invmgmt.repeats_steps_per_s)})")
        print(f"ratio {REFERENCE_PRESET} / gym-invmgmt: {ratio:.2f}x")

    worst = max(presets.values(), key=lambda f: f.reset_ms)
    big = next(c for c in scaling if (c["locations"], c["skus"]) == (100, 50))
    targets = [
        target(f"{REFERENCE_PRESET} steps/s >= 15,000", reference, 15_000, "steps/s"),
        target(f"reset <= 2 ms, every preset (worst: {worst.name})", worst.reset_ms, 2.0, "ms"),
        target("100 locations x 50 SKUs steps/s >= 1,500", big["steps_per_s"], 1_500, "steps/s"),
        target(f"{REFERENCE_PRESET} >= 2x gym-invmgmt steps/s", ratio, 2.0, "x"),
    ]
    print("\ntargets")
    for t in targets:
        shown = "n/a" if t["measured"] is None else (
            f"{t['measured']:,.3f} ms" if t["unit"] == "ms" else
            f"{t['measured']:.2f}x" if t["unit"] == "x" else f"{t['measured']:,.0f} steps/s")
        print(f"  {t['status']:<5} {t['target']}: measured {shown}")
    seconds = time.perf_counter() - began
    print(f"\ntotal benchmark time {seconds:.0f} s")

    if args.json is not None:
        write_json_atomic(args.json, {
            "mode": "quick" if args.quick else "full",
            "budget": asdict(budget),
            "machine": {"python": platform.python_version(), "numpy": np.__version__,
                        "gymnasium": gym.__version__, "cpus": os.cpu_count(),
                        "platform": platform.platform()},
            "presets": {name: asdict(fig) for name, fig in presets.items()},
            "scaling": scaling,
            "gym_invmgmt": ({"version": detail, **asdict(invmgmt)} if invmgmt is not None
                            else {"skipped": detail}),
            "ratio_reference_to_gym_invmgmt": ratio,
            "targets": targets,
            "seconds": round(seconds, 1),
        })
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
