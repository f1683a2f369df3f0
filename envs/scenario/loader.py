"""Load scenarios from presets, YAML files or objects, with one-line errors."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from allocsim.envs.scenario.scenario import Scenario


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line naming what and where."""


def preset_names() -> list[str]:
    """Names of the scenarios shipped with the package, sorted."""
    folder = resources.files("allocsim.envs") / "presets"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


_UNION_TAG = re.compile(r"^(constrained-\w+|literal\[.*\]|function-\w+\[.*\]|lax-or-strict\[.*\])$")


def _format_validation_error(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    parts = [str(p) for p in first["loc"] if not _UNION_TAG.match(str(p))]
    path = ".".join(parts)
    message = first["msg"].removeprefix("Value error, ")
    where = f"{source}: {path}: " if path else f"{source}: "
    bad = first.get("input")
    shown = "" if path == "" or isinstance(bad, dict | list) else f" (got {bad!r})"
    more = len(err.errors()) - 1
    tail = f" [+{more} more error(s)]" if more else ""
    return f"{where}{message}{shown}{tail}"


def scenario_from_dict(data: Any, source: str = "scenario") -> Scenario:
    """Validate a plain mapping into a Scenario, raising ScenarioError on bad input."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_format_validation_error(err, source)) from None


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read ({err.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{path}: {problem}{where}") from None


def _resolve_csv(scenario: Scenario, folder: Path) -> Scenario:
    csv = scenario.demand.csv
    if csv is None or Path(csv).is_absolute():
        return scenario
    demand = scenario.demand.model_copy(update={"csv": str((folder / csv).resolve())})
    return scenario.model_copy(update={"demand": demand})


def load_scenario(ref: str | Path | Scenario) -> Scenario:
    """A Scenario from a preset name, a YAML path or a Scenario (returned as is)."""
    if isinstance(ref, Scenario):
        return ref
    text = str(ref)
    path = Path(text)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.exists():
            raise ScenarioError(f"{path}: no such scenario file")
        scenario = scenario_from_dict(_read_yaml(path), source=str(path))
        return _resolve_csv(scenario, path.parent)
    names = preset_names()
    if text not in names:
        raise ScenarioError(f"unknown scenario {text!r}; presets are: {', '.join(names)}")
    preset = resources.files("allocsim.envs") / "presets" / f"{text}.yaml"
    return scenario_from_dict(yaml.safe_load(preset.read_text(encoding="utf-8")), source=text)
