"""Tuned rule parameters, kept per timing mode: the user's own (``allocsim tune``) first, then those
shipped for the presets.

A user's tuned parameters live in ``<tuned-dir>/<scenario name>/<policy>.json`` (tuned in the
aggregated mode) or ``<policy>.events.json`` (tuned in the events mode). The presets' tuned
parameters ship inside the package, keyed by the scenario's content hash
(``baselines/tuned/<hash>/<policy>[.events].json``), so they apply wherever the command runs,
and only to exactly that scenario. A run looks up its own timing mode first: a holdback tuned
while the day's receipts arrive through the morning starves spot customers when every receipt
is on hand at the decision. Parameters tuned only in the other mode are used with a label that
says so, and a file that exists but does not apply is never passed over in silence
(``Lookup.source`` says why and how to tune again).
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
#: The timing modes parameters are kept for; the first is every scenario's default and the
#: mode of every file written before the mode was recorded.
MODES = ("aggregated", "events")


@dataclass(frozen=True)
class Tuned:
    """One rule's tuned parameters and where they came from (``path`` None: shipped with the package)."""

    policy: str
    params: dict[str, Any]
    profit_mean: float | None
    path: Path | None
    scenario_hash: str | None = None  # the content the parameters were tuned on (None: not recorded)
    timing: str = MODES[0]  # the timing mode they were tuned in
    run_timing: str | None = None  # the timing mode of the run that uses them

    @property
    def source(self) -> str:
        """A short human label: ``tuned (packaged)`` or ``tuned: <path>``, naming the timing mode
        they were tuned in when the run plays another (no parameters were tuned in its own)."""
        label = "tuned (packaged)" if self.path is None else f"tuned: {self.path}"
        if self.run_timing and self.timing != self.run_timing:  # no [...]: a console reads it as markup
            label += f", tuned in {self.timing} mode, run in {self.run_timing}"
        return label


@dataclass(frozen=True)
class Lookup:
    """What ``lookup_tuned`` found (``tuned`` None: the rule's defaults) and why files that exist
    were not used (one sentence each, with the command that tunes again)."""

    tuned: Tuned | None
    passed_over: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """``tuned (packaged)``, ``tuned: <path>`` or ``defaults``, followed by the reasons in brackets."""
        label = self.tuned.source if self.tuned is not None else "defaults"
        return f"{label} ({'; '.join(self.passed_over)})" if self.passed_over else label


def tuned_file(policy: str, timing: str = MODES[0]) -> str:
    """File name of ``policy``'s parameters tuned in ``timing``: ``x.json``, ``x.events.json``."""
    if timing not in MODES:
        raise ValueError(f"timing mode: expected {' or '.join(MODES)}, got {timing[:40]!r}")
    return f"{policy}.json" if timing == MODES[0] else f"{policy}.{timing}.json"


def tuned_path(root: Path, scenario: str, policy: str, timing: str = MODES[0]) -> Path:
    """Where the user's parameters of ``policy``, tuned in ``timing`` on scenario ``scenario``, live."""
    return child_path(Path(root), scenario, tuned_file(policy, timing))


def _parse(text: str, where: str, policy: str, path: Path | None, named_mode: str) -> Tuned:
    """The tuned-parameters JSON ``text``; ValueError naming ``where`` when it is not one.

    ``named_mode``: the mode the file name says, used when the file records none."""
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
                 timing if timing in MODES else named_mode)


def user_tuned(root: Path, scenario: str, policy: str, timing: str = MODES[0]) -> Tuned | None:
    """The parameters ``allocsim tune`` saved under ``root`` for ``scenario`` (a name) in ``timing``'s
    file, or None. The result's ``timing`` is what the file records (a file written before the
    mode had its own file may hold another)."""
    path = tuned_path(root, scenario, policy, timing)
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: cannot read tuned parameters (not UTF-8)") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read tuned parameters ({err.strerror or err})") from None
    return _parse(text, str(path), policy, path, timing)


def packaged_tuned(scenario_hash: str, policy: str, timing: str = MODES[0]) -> Tuned | None:
    """The parameters shipped for the preset whose content hash is ``scenario_hash``, tuned in
    ``timing``, or None."""
    name = tuned_file(policy, timing)
    entry = resources.files("allocsim.baselines").joinpath("tuned", scenario_hash, name)
    if not entry.is_file():
        return None
    return _parse(entry.read_text(encoding="utf-8"), f"packaged tuned/{scenario_hash}/{name}",
                  policy, None, timing)


def tune_command(scenario: Scenario, policy: str) -> str:
    """The command that tunes ``policy`` for ``scenario`` in its timing mode (a preset by name)."""
    from allocsim.envs.scenario import preset_names

    where = scenario.name if scenario.name in preset_names() else "<your scenario>"
    return f"allocsim tune --policy {policy} --scenario {where} --timing {scenario.timing.mode}"


def lookup_tuned(scenario: Scenario, policy: str, tuned_dir: Path | None = DEFAULT_TUNED_DIR) -> Lookup:
    """``policy``'s tuned parameters for ``scenario`` and the files passed over, with why.

    Order: the user's folder (found by the scenario's name, used only for the content it was
    tuned on), then the packaged ones (by content hash); the run's timing mode before the other.
    """
    digest, mode = scenario.content_hash(), scenario.timing.mode
    modes = [mode, *(m for m in MODES if m != mode)]
    again = tune_command(scenario, policy)
    passed: list[str] = []
    candidates: list[Tuned] = []
    for timing in modes:
        for found in (user_tuned(tuned_dir, scenario.name, policy, timing) if tuned_dir is not None else None,
                      packaged_tuned(digest, policy, timing)):
            if found is None:
                continue
            if found.scenario_hash not in (None, digest):
                passed.append(f"{found.path} not used: tuned for another scenario content "
                              f"({found.scenario_hash}, this is {digest}): re-run {again}")
            else:
                candidates.append(found)
    ranked = sorted(candidates, key=lambda t: t.timing != mode)  # stable: user before packaged
    chosen = replace(ranked[0], run_timing=mode) if ranked else None
    if chosen is None:
        passed += _edited_preset(scenario, policy, again)
    elif chosen.timing != mode:
        passed.append(f"none tuned in {mode} mode: {again}")
    return Lookup(chosen, tuple(passed))


def _edited_preset(scenario: Scenario, policy: str, again: str) -> list[str]:
    """Why a scenario named like a preset gets none of the preset's packaged parameters."""
    from allocsim.envs.scenario import preset_names
    from allocsim.envs.scenario.loader import load_preset

    if scenario.name not in preset_names():
        return []
    shipped = load_preset(scenario.name).content_hash()
    if not any(packaged_tuned(shipped, policy, m) for m in MODES):
        return []
    return [f"the packaged parameters are for the preset {scenario.name} as shipped ({shipped}); this "
            f"scenario's content differs ({scenario.content_hash()}): run {again}"]


def no_tuned_reason(scenario: Scenario, policy: str, tuned_dir: Path | None, found: Lookup) -> str:
    """Why ``found`` (a lookup with no parameters) has none: the files passed over, else where
    the user's file would be and that none ship for this content, with the command that tunes."""
    if found.passed_over:
        return "; ".join(found.passed_over)
    where = (f"no {tuned_path(tuned_dir, scenario.name, policy, scenario.timing.mode)}"
             if tuned_dir is not None else "no tuned folder")
    return (f"{where} and none packaged for this scenario content ({scenario.content_hash()}): "
            f"run {tune_command(scenario, policy)}")


def find_tuned(scenario: Scenario, policy: str, tuned_dir: Path | None = DEFAULT_TUNED_DIR) -> Tuned | None:
    """``policy``'s tuned parameters for ``scenario`` (``lookup_tuned`` without the reasons)."""
    return lookup_tuned(scenario, policy, tuned_dir).tuned


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
