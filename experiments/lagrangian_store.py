"""The Lagrangian bound's fitted DC prices, fitted once per scenario content and kept on disk.

Fitting (``allocsim.baselines.lagrangian_bound.fit_multipliers``) takes from a second on the DP
presets to several minutes on retail-medium (its lead-2 and lead-3 lanes carry their transit state:
1-6 minutes by load); the prices depend only on the scenario, its demand
profile and the fitting code, so they are stored beside the sales penalties
(``allocsim.experiments.penalty_store.store_dir``) under a key of all three, arrays only, read
with ``allow_pickle=False`` and written atomically; an unreadable file is fitted again.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

from allocsim.baselines.lagrangian_bound import Multipliers, fit_multipliers, refusal
from allocsim.core.atomic_files import atomic_write
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import env_for
from allocsim.experiments.penalty_store import penalty_key, store_dir
from allocsim.experiments.seeds import BLOCK_SIZE, seed_block

#: The code fitted prices depend on, besides the penalty's (package-relative).
FIT_SOURCES = ("baselines/lagrangian_bound.py", "baselines/lagrangian_lanes.py",
               "baselines/lagrangian_pipeline.py", "baselines/lagrangian_backorder.py",
               "baselines/lagrangian_dc.py")
FIT_SEEDS = 4  # tuning seeds the prices are fitted on where the DC or a lane is random per seed
_FITTED: dict[str, Multipliers] = {}


def multipliers_key(scenario: Scenario) -> str:
    """A digest of the scenario, its demand profile and the fitting code."""
    digest = hashlib.sha256(penalty_key(scenario, env_for(scenario).profile).encode())
    root = Path(__file__).parents[1]
    for name in FIT_SOURCES:
        digest.update((root / name).read_bytes())
    return "lagrangian-" + digest.hexdigest()[:24]


def multipliers_path(scenario: Scenario) -> Path:
    return store_dir() / f"{multipliers_key(scenario)}.npz"


def load_multipliers(path: Path) -> Multipliers | None:
    """The prices stored at ``path``, or None when there are none or they cannot be read."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return Multipliers(price=data["price"], fit_bound=float(data["fit_bound"]),
                               master=float(data["master"]), rounds=int(data["rounds"]),
                               seconds=float(data["seconds"]),
                               fitted_on=tuple(int(s) for s in data["fitted_on"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def save_multipliers(path: Path, fitted: Multipliers) -> Path:
    """Write ``fitted`` to ``path`` atomically (arrays only)."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, price=fitted.price, fit_bound=fitted.fit_bound, master=fitted.master,
                     rounds=fitted.rounds, seconds=fitted.seconds,
                     fitted_on=np.asarray(fitted.fitted_on, dtype=np.int64))

    return atomic_write(path, write)


def multipliers_for(scenario: Scenario) -> Multipliers | None:
    """The scenario's fitted DC prices (fitted now if not on disk), or None where the bound is refused."""
    env = env_for(scenario)
    if refusal(env.network, env.profile) is not None:
        return None
    key = multipliers_key(scenario)
    if key not in _FITTED:
        path = store_dir() / f"{key}.npz"
        fitted = load_multipliers(path)
        if fitted is None:
            seeds = seed_block("tuning").seeds(FIT_SEEDS, offset=BLOCK_SIZE - FIT_SEEDS)
            fitted = fit_multipliers(env.network, env.profile, seeds)
            save_multipliers(path, fitted)
        _FITTED[key] = fitted
    return _FITTED[key]


def multipliers_fitted(scenario: Scenario) -> bool:
    """True when ``allocsim bound`` will not fit prices first (on disk already, or the bound is refused),
    for the caller that announces one-off waits before its progress bar."""
    env = env_for(scenario)
    if refusal(env.network, env.profile) is not None:
        return True
    return multipliers_key(scenario) in _FITTED or load_multipliers(multipliers_path(scenario)) is not None
