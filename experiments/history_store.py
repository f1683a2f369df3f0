"""The history-priced Lagrangian bound (``allocsim.baselines.lagrangian_history``) for ``allocsim bound``
and ``allocsim benchmark``.

Its prices come, in this order, from the package (``allocsim.experiments.history_prices``: fitted
prices shipped for the presets where the bound applies, keyed by the scenario's content; the same
prices on every machine, so a benchmark's bound does not depend on what a cache holds), from the
cache (a fit kept on disk under a key of the scenario, the flat prices' key and the fitting code; read
with ``allow_pickle=False``, written atomically), or from a fit now (from the flat fitted prices of
``allocsim.experiments.lagrangian_store``: ``ROUNDS`` rounds of the bundle method, as long as
``history_fit_time`` says), which only ``allocsim bound --history``
pays: the benchmark skips the bound instead (``seed_history(fit=False)``). Shipped prices are evaluated
by the current code (one solve of every piece), so the bound is always this code's exact expectation:
every seed gets the same value.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_bound import refusal as flat_refusal
from allocsim.baselines.lagrangian_history import HistoryFit, HistoryPieces, fit_history, refusal, walk
from allocsim.core.atomic_files import atomic_write
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import env_for
from allocsim.experiments.history_fit_time import history_fit_time
from allocsim.experiments.history_prices import shipped_prices
from allocsim.experiments.lagrangian_store import multipliers_for, multipliers_key
from allocsim.experiments.lane_penalty_seeds import SeedBound
from allocsim.experiments.penalty_store import store_dir

FIT_SOURCES = ("baselines/lagrangian_history.py", "baselines/lagrangian_history_dp.py",
               "baselines/lagrangian_dc.py", "baselines/lagrangian_lanes.py",
               "baselines/lagrangian_pipeline.py", "baselines/lagrangian_history_backorder.py",
               "baselines/lagrangian_backorder.py", "baselines/lagrangian_disposal.py")
ROUNDS = 200  # bundle rounds (a fixed count, so the fit does not depend on the machine's speed)
_FITTED: dict[str, HistoryFit] = {}
_SOURCE: dict[str, str] = {}  # key -> where the prices came from (``history_source``)
#: Why the benchmark has no history-priced bound where it applies but no prices are at hand.
NO_PRICES = ("no prices shipped or cached for this scenario content (`allocsim bound --history` fits them: "
             f"{history_fit_time()})")


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
    """True when ``history_for`` will not fit first (shipped, on disk already, or refused)."""
    if history_refusal(scenario) is not None:
        return True
    key = history_key(scenario)
    return (key in _FITTED or shipped_prices(scenario) is not None
            or load_fit(store_dir() / f"{key}.npz") is not None)


def _pieces(scenario: Scenario) -> HistoryPieces:
    env = env_for(scenario)
    net, split = env.network, Split.of(env.network, env.profile)
    return HistoryPieces(net, split, walk(net, split))


def history_for(scenario: Scenario, log: list | None = None, fit: bool = True) -> HistoryFit | None:
    """The scenario's history prices and bound, or None where refused (or, without ``fit``, where no
    prices are shipped or cached). Shipped prices first, evaluated now; then the cache; then a fit."""
    if history_refusal(scenario) is not None:
        return None
    key = history_key(scenario)
    if key in _FITTED:
        return _FITTED[key]
    shipped = shipped_prices(scenario)
    path = store_dir() / f"{key}.npz"
    if shipped is not None:
        started = time.perf_counter()
        bound = _pieces(scenario).solve(shipped.price)[0]
        took = time.perf_counter() - started
        fitted: HistoryFit | None = HistoryFit(shipped.price, bound, shipped.flat_bound, np.nan,
                                               shipped.rounds, took)
        source = shipped.source
    elif (fitted := load_fit(path)) is not None:
        source = f"prices fitted on this machine in {fitted.rounds} rounds (cached)"
    elif fit:
        flat = multipliers_for(scenario)
        assert flat is not None
        fitted = fit_history(_pieces(scenario), flat.price, rounds=ROUNDS, budget=np.inf, log=log)
        save_fit(path, fitted)
        source = f"prices fitted on this machine in {fitted.rounds} rounds (cached)"
    else:
        return None
    _FITTED[key], _SOURCE[key] = fitted, source
    return fitted


def history_source(scenario: Scenario) -> str | None:
    """Where the prices of ``history_for``'s last answer for ``scenario`` came from, or None."""
    return _SOURCE.get(history_key(scenario))


def seed_history(scenario: Scenario, seeds: Sequence[int],
                 fit: bool = True) -> tuple[list[SeedBound], str | None]:
    """The history-priced bound on every seed (one exact value for all), or none and why: refused, or
    (without ``fit``) no prices shipped or cached (``NO_PRICES``)."""
    why = history_refusal(scenario)
    if why is not None:
        return [], why
    started = time.perf_counter()
    fitted = history_for(scenario, fit=fit)
    if fitted is None:
        return [], NO_PRICES
    took = time.perf_counter() - started
    return [SeedBound(seed, fitted.bound, took / max(len(seeds), 1)) for seed in seeds], None


def history_record(scenario: Scenario, history: Sequence[SeedBound],
                   why: str | None) -> dict[str, Any] | None:
    """``run.json``'s ``history_bound``: its value and where its prices came from, or why the run has
    none where it applies (``NO_PRICES``); None where it does not apply (refused)."""
    if not history and why != NO_PRICES:
        return None
    value = history[0].bound if history else None
    return {"value": value, "prices": history_source(scenario) if history else None, "note": why}
