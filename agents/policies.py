"""Policy classes by name beyond SB3's own (``MlpPolicy``...): the hyperparameter key ``policy``.

A registered policy may need facts of the network it runs on (``layout``) besides the spaces:
``sb3_policy`` gives the class and those keyword arguments when a run starts, ``run_policy``
when a run folder is loaded (rebuilt from the scenario, never read from the pickle).
Registered: ``shared-locations`` (``allocsim.agents.shared_net``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stable_baselines3.common.policies import BasePolicy

from allocsim.agents.algorithms import Algorithm
from allocsim.agents.shared_net import POLICY_NAME, SharedLocationPolicy, layout_kwargs


@dataclass(frozen=True)
class NetworkPolicy:
    """A policy class of allocsim: which algorithms take it and what it needs from the env."""

    name: str
    cls: type[BasePolicy]
    algos: frozenset[str]  # algorithm names that can train it
    env_kwargs: Callable[[Any], dict[str, Any]]  # keyword arguments read from an env of the network
    raw_observations: bool = True  # refuses VecNormalize's per-entry observation statistics


POLICIES: dict[str, NetworkPolicy] = {
    p.name: p for p in (
        NetworkPolicy(POLICY_NAME, SharedLocationPolicy, frozenset({"ppo", "a2c", "dcl"}), layout_kwargs),
    )
}


def policy_names(algo: Algorithm) -> list[str]:
    """Every policy name ``algo`` takes: SB3's aliases and the registered ones."""
    return [*algo.cls.policy_aliases, *(n for n, p in POLICIES.items() if algo.name in p.algos)]


def check_policy(algo: Algorithm, name: str | None) -> None:
    """ValueError naming the valid policies when ``algo`` does not take ``name``."""
    if name is not None and name not in policy_names(algo):
        raise ValueError(f"{algo.name} does not take policy {name!r}; valid: {', '.join(policy_names(algo))}")


def sb3_policy(algo: Algorithm, name: str | None, env: Callable[[], Any]) -> tuple[str | type[BasePolicy],
                                                                                  dict[str, Any]]:
    """The policy argument of ``algo.cls`` and the keyword arguments the network adds (``env`` builds one
    env of the run's network and action mode, only when the policy needs it)."""
    chosen = name or algo.policy
    registered = POLICIES.get(chosen)
    if registered is None:
        return chosen, {}
    return registered.cls, registered.env_kwargs(env())


def run_policy(algo: Algorithm, config: dict[str, Any]) -> tuple[type[BasePolicy] | None, dict[str, Any]]:
    """The policy class of a run folder's ``config`` (None: unknown name) and the network's arguments."""
    hp = dict(config.get("hyperparams") or {})
    name = str(hp.get("policy") or algo.policy)
    registered = POLICIES.get(name)
    if registered is None:
        return algo.cls.policy_aliases.get(name), {}
    from allocsim.envs.allocation_env import AllocationEnv
    from allocsim.envs.scenario import load_scenario

    env = AllocationEnv(load_scenario(str(config["scenario"])), action_mode=str(config.get("action_mode")
                                                                               or "shares"),
                        residual_around=config.get("residual_around"))
    return registered.cls, registered.env_kwargs(env)
