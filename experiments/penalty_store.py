"""The penalised bound's fitted penalty, kept on disk between runs.

Fitting the penalty solves the clairvoyant LP on up to 200 tuning seeds for each candidate
scale: seconds on the small presets, one to several minutes on retail-medium. A fitted
penalty depends only on the scenario's content, its demand profile and the code that fits
it, so it is stored under a key made of all three (an edited scenario, another demand
history or a changed fit is fitted afresh) in ``$XDG_CACHE_HOME/allocsim/penalties``
(default ``~/.cache``; ``ALLOCSIM_PENALTY_CACHE`` names another folder). Files hold arrays
only, are read with ``allow_pickle=False`` and written atomically; an unreadable file is
fitted again and replaced.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from allocsim.baselines.info_relaxation import SalesPenalty
from allocsim.core.atomic_files import atomic_write
from allocsim.envs.demand import DemandProfile
from allocsim.envs.scenario import Scenario

#: The code a fitted penalty depends on (package-relative): a change in any refits.
FIT_SOURCES = ("baselines/info_relaxation.py", "baselines/clairvoyant.py", "baselines/lp_builder.py",
               "baselines/demand_pmf.py", "experiments/bounds.py", "envs/demand.py")


def store_dir() -> Path:
    """Where fitted penalties live."""
    chosen = os.environ.get("ALLOCSIM_PENALTY_CACHE")
    if chosen:
        return Path(chosen)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "allocsim" / "penalties"


def penalty_key(scenario: Scenario, profile: DemandProfile) -> str:
    """A digest of the scenario's content, its demand profile and the fitting code."""
    digest = hashlib.sha256(scenario.content_hash().encode())
    digest.update(np.ascontiguousarray(profile.mean).tobytes())
    if profile.replay is not None:
        digest.update(np.ascontiguousarray(profile.replay).tobytes())
    root = Path(__file__).parents[1]
    for name in FIT_SOURCES:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:24]


def load_penalty(path: Path) -> SalesPenalty | None:
    """The penalty stored at ``path``, or None when there is none or it cannot be read."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            note = str(data["note"]) if data["has_note"] else None
            return SalesPenalty(
                weight=data["weight"], survival=data["survival"], segments=data["segments"],
                alpha=(float(data["alpha"][0]), float(data["alpha"][1])), note=note,
                fitted_on=tuple(int(s) for s in data["fitted_on"]),
            )
    except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile):
        return None


def save_penalty(path: Path, penalty: SalesPenalty) -> Path:
    """Write ``penalty`` to ``path`` atomically (arrays only)."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, weight=penalty.weight, survival=penalty.survival, segments=penalty.segments,
                     alpha=np.asarray(penalty.alpha, dtype=np.float64), note=np.asarray(penalty.note or ""),
                     has_note=np.asarray(penalty.note is not None),
                     fitted_on=np.asarray(penalty.fitted_on, dtype=np.int64))

    return atomic_write(path, write)
