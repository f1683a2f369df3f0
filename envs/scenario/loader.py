"""Load scenarios from presets, YAML files or objects, with one-line errors."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from allocsim.core.error_text import shorten, show
from allocsim.envs.scenario.errors import format_validation_error
from allocsim.envs.scenario.scenario import Scenario
from allocsim.envs.scenario.timing import MODES
from allocsim.envs.scenario.yaml_file import parse_yaml, read_yaml

#: a file path is shown whole up to this many characters (a value is cut at 80)
PATH_LIMIT = 300


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line naming what and where."""


def preset_names() -> list[str]:
    """Names of the scenarios shipped with the package, sorted."""
    folder = resources.files("allocsim.envs") / "presets"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def scenario_from_dict(data: Any, source: str = "scenario") -> Scenario:
    """Validate a plain mapping into a Scenario, raising ScenarioError on bad input."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err, source)) from None


def _resolve_csv(scenario: Scenario, folder: Path) -> Scenario:
    csv = scenario.demand.csv
    if csv is None or Path(csv).is_absolute():
        return scenario
    demand = scenario.demand.model_copy(update={"csv": str((folder / csv).resolve())})
    return scenario.model_copy(update={"demand": demand})


def _is_file_ref(path: Path) -> bool:
    """True when ``path`` names a scenario file: a YAML suffix, or an existing path that is not a
    folder (a run folder named like a preset, e.g. ``--out retail-small``, must not hide the preset)."""
    if path.suffix in {".yaml", ".yml"}:
        return True
    try:
        return path.exists() and not path.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte
        return False


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def load_preset(name: str) -> Scenario:
    """The preset ``name`` as shipped (ScenarioError naming the presets if there is none)."""
    names = preset_names()
    if name not in names:
        raise ScenarioError(f"unknown scenario {show(name, PATH_LIMIT)}; presets are: {', '.join(names)}")
    preset = resources.files("allocsim.envs") / "presets" / f"{name}.yaml"
    data = parse_yaml(preset.read_text(encoding="utf-8"), name, ScenarioError)
    return scenario_from_dict(data, source=name)


def load_scenario(ref: str | Path | Scenario, timing: str | None = None) -> Scenario:
    """A Scenario from a preset name, a YAML path or a Scenario (returned as is); ``timing``
    (``aggregated`` or ``events``) overrides its ``timing.mode``."""
    scenario = _load(ref)
    if timing is None or timing == scenario.timing.mode:
        return scenario
    if timing not in MODES:
        raise ScenarioError(f"timing: {show(timing)} is not one of {', '.join(MODES)}")
    return scenario.model_copy(update={"timing": scenario.timing.model_copy(update={"mode": timing})})


def _load(ref: str | Path | Scenario) -> Scenario:
    if isinstance(ref, Scenario):
        return ref
    text = str(ref)
    path = Path(text)
    if _is_file_ref(path):
        try:
            exists = path.is_file()
        except (OSError, ValueError):
            exists = False
        if not exists:
            raise ScenarioError(f"{shorten(text, PATH_LIMIT)}: no such scenario file")
        scenario = scenario_from_dict(read_yaml(path, ScenarioError), source=str(path))
        return _resolve_csv(scenario, path.parent)
    if text not in preset_names() and _is_folder(path):
        raise ScenarioError(f"{shorten(text, PATH_LIMIT)}: a folder, not a scenario file (a preset name "
                            f"or a .yaml file)")
    return load_preset(text)
