"""Scenario schema (pydantic, extra="forbid") and loading from presets or YAML files."""

from allocsim.envs.scenario.loader import (
    ScenarioError,
    load_scenario,
    preset_names,
    scenario_from_dict,
)
from allocsim.envs.scenario.scenario import Scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario", "preset_names", "scenario_from_dict"]
