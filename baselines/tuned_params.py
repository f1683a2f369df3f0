"""Tuned rule parameters: the user's own (``allocsim tune``) first, then those shipped for the presets.

A user's tuned parameters live in ``<tuned-dir>/<scenario name>/<policy>.json``. The
presets' tuned parameters ship inside the package, keyed by the scenario's content
hash (``baselines/tuned/<hash>/<policy>.json``), so they apply wherever the command
runs, and only to exactly that scenario: an edited copy of a preset has another hash
and runs on defaults (or on what the user tunes for it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allocsim.baselines.safe_paths import child_path

if TYPE_CHECKING:  # only a type here: importing this module loads no simulator
    from allocsim.envs.scenario import Scenario

#: Where ``allocsim tune`` writes and ``benchmark``, ``train`` and sweeps look first (working folder).
DEFAULT_TUNED_DIR = Path("tuned")


@dataclass(frozen=True)
class Tuned:
    """One rule's tuned parameters and where they came from (``path`` None: shipped with the package)."""

    policy: str
    params: dict[str, Any]
    profit_mean: float | None
    path: Path | None
    scenario_hash: str | None = None  # the content the parameters were tuned on (None: not recorded)
    timing: str | None = None  # the timing mode they were tuned in (None: not recorded)
    run_timing: str | None = None  # the timing mode of the run that uses them

    @property
    def source(self) -> str:
        """A short human label: ``tuned (packaged)`` or ``tuned: <path>``, naming the timing mode
        they were tuned in when the run plays another (a holdback tuned with orders arriving
        through the day can starve customers when every receipt is on hand at the decision)."""
        label = "tuned (packaged)" if self.path is None else f"tuned: {self.path}"
        if self.timing and self.run_timing and self.timing != self.run_timing:
            label += f" [tuned in {self.timing} mode, run in {self.run_timing}]"
        return label


def tuned_path(root: Path, scenario: str, policy: str) -> Path:
    """Where the user's tuned parameters of ``policy`` on scenario ``scenario`` live under ``root``."""
    return child_path(Path(root), scenario, f"{policy}.json")


def _parse(text: str, where: str, policy: str, path: Path | None) -> Tuned:
    """The tuned-parameters JSON ``text``; ValueError naming ``where`` when it is not one."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:  # not JSON, a 5,000-digit number, nested too deep
        detail = " ".join(str(err).split())[:120] or type(err).__name__
        raise ValueError(f"{where}: cannot read tuned parameters ({detail})") from None
    params = data.get("params") if isinstance(data, dict) else None
    if not isinstance(params, dict):
        raise ValueError(f"{where}: expected a JSON object with a 'params' object")
    profit = data.get("profit_mean")
    tuned_on = data.get("scenario_hash")
    timing = data.get("timing")
    return Tuned(policy, params, float(profit) if isinstance(profit, int | float) else None, path,
                 tuned_on if isinstance(tuned_on, str) and tuned_on else None,
                 timing if timing in ("aggregated", "events") else None)


def user_tuned(root: Path, scenario: str, policy: str) -> Tuned | None:
    """The parameters ``allocsim tune`` saved under ``root`` for ``scenario`` (a name), or None."""
    path = tuned_path(root, scenario, policy)
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: cannot read tuned parameters (not UTF-8)") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read tuned parameters ({err.strerror or err})") from None
    return _parse(text, str(path), policy, path)


def packaged_tuned(scenario_hash: str, policy: str) -> Tuned | None:
    """The parameters shipped for the preset whose content hash is ``scenario_hash``, or None."""
    entry = resources.files("allocsim.baselines").joinpath("tuned", scenario_hash, f"{policy}.json")
    if not entry.is_file():
        return None
    return _parse(entry.read_text(encoding="utf-8"), f"packaged tuned/{scenario_hash}/{policy}.json",
                  policy, None)


def find_tuned(scenario: Scenario, policy: str, tuned_dir: Path | None = DEFAULT_TUNED_DIR) -> Tuned | None:
    """``policy``'s tuned parameters for ``scenario``: the user's folder first, then the packaged ones.

    A user's file is found by the scenario's name but used only for the content it was tuned
    on: when it records another ``scenario_hash`` (an edited copy, or a replayed history, saved
    under the same name) it is passed over for the packaged parameters (or the defaults).
    """
    found = user_tuned(tuned_dir, scenario.name, policy) if tuned_dir is not None else None
    if found is not None and found.scenario_hash not in (None, scenario.content_hash()):
        found = None
    found = found or packaged_tuned(scenario.content_hash(), policy)
    return None if found is None else replace(found, run_timing=scenario.timing.mode)


def load_tuned(
    scenario: Scenario | str | Path, policy: str, tuned_dir: Path | None = DEFAULT_TUNED_DIR
) -> dict[str, Any] | None:
    """Just the parameters of ``find_tuned`` (None when the rule has none for this scenario).

    ``scenario`` is a ``Scenario``, a preset name or a YAML path.
    """
    if isinstance(scenario, str | Path):
        from allocsim.envs.scenario import load_scenario  # the simulator only when asked by name

        scenario = load_scenario(scenario)
    found = find_tuned(scenario, policy, tuned_dir)
    return None if found is None else dict(found.params)
