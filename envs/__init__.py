"""The world: scenario schema, demand, the compiled engine, and the Gymnasium single and vector envs.

Importing this package registers ``allocsim/Allocation-v0``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gymnasium.envs.registration import register, registry

from allocsim.envs.scenario import Scenario, ScenarioError, load_scenario, preset_names

ENV_ID = "allocsim/Allocation-v0"

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="allocsim.envs.allocation_env:AllocationEnv",
        vector_entry_point="allocsim.envs.vector_env:AllocationVectorEnv",
    )

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv


def __getattr__(name: str) -> Any:
    """Import the env lazily so light users (schema, decode) need not load SimPy."""
    if name == "AllocationEnv":
        from allocsim.envs.allocation_env import AllocationEnv

        return AllocationEnv
    raise AttributeError(name)


__all__ = ["ENV_ID", "AllocationEnv", "Scenario", "ScenarioError", "load_scenario", "preset_names"]
