"""The history-priced Lagrangian bound (``allocsim.baselines.lagrangian_history``) for ``allocsim bound``.

Its prices are fitted once per scenario content (from the flat fitted prices of
``allocsim.experiments.lagrangian_store``: seconds on the DP presets, about 15-30 minutes on
retail-small by load, ``ROUNDS`` rounds of the bundle method) and kept beside them on disk under a
key of the scenario, the flat prices' key and the fitting code; read with ``allow_pickle=False``,
written atomically. The bound is an exact expectation, so every seed gets the same value.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_bound import refusal as flat_refusal
from allocsim.baselines.lagrangian_history import HistoryFit, HistoryPieces, fit_history, refusal, walk
from allocsim.core.atomic_files import atomic_write
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import env_for
from allocsim.experiments.lagrangian_store import multipliers_for, multipliers_key
from allocsim.experiments.lane_penalty_seeds import SeedBound
from allocsim.experiments.penalty_store import store_dir

FIT_SOURCES = ("baselines/lagrangian_history.py", "baselines/lagrangian_history_dp.py",
               "baselines/lagrangian_dc.py", "baselines/lagrangian_lanes.py",
               "baselines/lagrangian_pipeline.py")
ROUNDS = 200  # bundle rounds (a fixed count, so the fit does not depend on the machine's speed)
_FITTED: dict[str, HistoryFit] = {}


def history_key(scenario: Scenario) -> str:
    digest = hashlib.sha256(multipliers_key(scenario).encode())
    root = Path(__file__).parents[1]
    for name in FIT_SOURCES:
        digest.update((root / name).read_bytes())
    return "history-" + digest.hexdigest()[:24]


def history_refusal(scenario: Scenario) -> str | None:
    """Why the history-priced bound does not apply to ``scenario``, or None."""
    env = env_for(scenario)
    why = flat_refusal(env.network, env.profile)
    return why or refusal(env.network, Split.of(env.network, env.profile))


def save_fit(path: Path, fitted: HistoryFit) -> Path:
    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, price=fitted.price, bound=fitted.bound, flat=fitted.flat, model=fitted.model,
                     rounds=fitted.rounds, seconds=fitted.seconds)

    return atomic_write(path, write)


def load_fit(path: Path) -> HistoryFit | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return HistoryFit(price=data["price"], bound=float(data["bound"]), flat=float(data["flat"]),
                              model=float(data["model"]), rounds=int(data["rounds"]),
                              seconds=float(data["seconds"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def history_fitted(scenario: Scenario) -> bool:
    """True when ``history_for`` will not fit first (on disk already, or refused)."""
    if history_refusal(scenario) is not None:
        return True
    key = history_key(scenario)
    return key in _FITTED or load_fit(store_dir() / f"{key}.npz") is not None


def history_for(scenario: Scenario, log: list | None = None) -> HistoryFit | None:
    """The scenario's fitted history prices and bound (fitted now if not on disk), or None where refused."""
    if history_refusal(scenario) is not None:
        return None
    key = history_key(scenario)
    if key not in _FITTED:
        path = store_dir() / f"{key}.npz"
        fitted = load_fit(path)
        if fitted is None:
            env = env_for(scenario)
            net, split = env.network, Split.of(env.network, env.profile)
            flat = multipliers_for(scenario)
            assert flat is not None
            fitted = fit_history(HistoryPieces(net, split, walk(net, split)), flat.price, rounds=ROUNDS,
                                 budget=np.inf, log=log)
            save_fit(path, fitted)
        _FITTED[key] = fitted
    return _FITTED[key]


def seed_history(scenario: Scenario, seeds: Sequence[int]) -> tuple[list[SeedBound], str | None]:
    """The history-priced bound on every seed (one exact value for all), or none and why it is refused."""
    why = history_refusal(scenario)
    if why is not None:
        return [], why
    started = time.perf_counter()
    fitted = history_for(scenario)
    assert fitted is not None
    took = time.perf_counter() - started
    return [SeedBound(seed, fitted.bound, took / max(len(seeds), 1)) for seed in seeds], None
