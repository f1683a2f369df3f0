"""Rule sets by name: one place that maps a policy name to its class.

The classes are imported on first use (``POLICIES[name]``), so listing the names
(``policy_names()``, e.g. for ``allocsim --help``) loads neither SciPy nor the simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import gymnasium as gym


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


class LazyFactories(Mapping[str, PolicyFactory]):
    """Name -> policy class, each imported from its ``module:Class`` path when first looked up."""

    def __init__(self, paths: dict[str, str]) -> None:
        self._paths = dict(paths)

    def __getitem__(self, name: str) -> PolicyFactory:
        module, _, attr = self._paths[name].partition(":")
        factory: PolicyFactory = getattr(import_module(module), attr)
        return factory

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


POLICIES: Mapping[str, PolicyFactory] = LazyFactories({
    "random": "allocsim.baselines.simple:RandomPolicy",
    "hold": "allocsim.baselines.simple:HoldPolicy",
    "proportional": "allocsim.baselines.proportional:ProportionalPolicy",
    "balanced": "allocsim.baselines.balanced:BalancedPolicy",
    "priority": "allocsim.baselines.priority:PriorityPolicy",
    "base-stock": "allocsim.baselines.base_stock:BaseStockPolicy",
    "min-max": "allocsim.baselines.min_max:MinMaxPolicy",
    "myopic-lp": "allocsim.baselines.myopic_lp:MyopicLPPolicy",
    "sp-mpc": "allocsim.baselines.sp_mpc:SPMPCPolicy",
    "dp": "allocsim.baselines.dp:DPPolicy",
    "rollout": "allocsim.baselines.rollout:RolloutPolicy",
})

#: Registered policies that are not rule sets: ``dp`` (the exact optimum; it only solves tiny
#: scenarios and raises ValueError elsewhere), ``rollout`` (a rule improved by simulating
#: from copies of the state: far slower than a rule) and ``sp-mpc`` (a lookahead that solves an
#: LP every period, 0.05-0.5 s per decision). The benchmark runs them only when asked by name
#: (``--policies``) and never takes them as "the best rule".
NOT_RULES = frozenset({"dp", "rollout", "sp-mpc"})


def policy_names() -> list[str]:
    return sorted(POLICIES)


def rule_names() -> list[str]:
    """The rule sets: every registered policy except the exact optima (the benchmark's default)."""
    return [name for name in policy_names() if name not in NOT_RULES]


def make_policy(name: str, env: gym.Env, seed: int | None = None, **params: Any) -> Predictor:
    """A rule set bound to ``env``; unknown names raise ValueError listing the valid ones."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; valid: {', '.join(policy_names())}")
    return POLICIES[name](env.unwrapped, seed=seed, **params)
