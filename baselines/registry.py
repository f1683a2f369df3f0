"""Rule sets by name: one place that maps a policy name to its class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from allocsim.baselines.balanced import BalancedPolicy
from allocsim.baselines.base_stock import BaseStockPolicy
from allocsim.baselines.dp import DPPolicy
from allocsim.baselines.min_max import MinMaxPolicy
from allocsim.baselines.myopic_lp import MyopicLPPolicy
from allocsim.baselines.priority import PriorityPolicy
from allocsim.baselines.proportional import ProportionalPolicy
from allocsim.baselines.simple import HoldPolicy, RandomPolicy


class Predictor(Protocol):
    """stable-baselines3's predictor interface, shared by rules and learned policies."""

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], Any]: ...


PolicyFactory = Callable[..., Predictor]

POLICIES: dict[str, PolicyFactory] = {
    "random": RandomPolicy,
    "hold": HoldPolicy,
    "proportional": ProportionalPolicy,
    "balanced": BalancedPolicy,
    "priority": PriorityPolicy,
    "base-stock": BaseStockPolicy,
    "min-max": MinMaxPolicy,
    "myopic-lp": MyopicLPPolicy,
    "dp": DPPolicy,
}

#: Registered policies that are exact optima rather than rule sets: ``dp`` only solves tiny
#: scenarios (it raises ValueError elsewhere), so the benchmark runs them only when asked by
#: name and never takes them as "the best rule".
NOT_RULES = frozenset({"dp"})


def policy_names() -> list[str]:
    return sorted(POLICIES)


def rule_names() -> list[str]:
    """The rule sets: every registered policy except the exact optima (the benchmark's default)."""
    return [name for name in policy_names() if name not in NOT_RULES]


def make_policy(name: str, env: gym.Env, seed: int | None = None, **params: Any) -> Predictor:
    """A rule set bound to ``env``; unknown names raise ValueError listing the valid ones."""
    factory = POLICIES.get(name)
    if factory is None:
        raise ValueError(f"unknown policy {name!r}; valid: {', '.join(policy_names())}")
    return factory(env.unwrapped, seed=seed, **params)
