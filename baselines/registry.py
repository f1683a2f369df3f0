"""Rule sets by name: one place that maps a policy name to its class.

The classes are imported on first use (``POLICIES[name]``), so listing the names
(``policy_names()``, e.g. for ``allocsim --help``) loads neither SciPy nor the simulator.
"""

from __future__ import annotations

import math
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
#: (``--policies``); of them only a played ``sp-mpc`` counts as a tuned rule (``is_tuned_rule``).
NOT_RULES = frozenset({"dp", "rollout", "sp-mpc"})

#: Registered policies never taken as "the best tuned rule", even when played: the floors with
#: nothing to tune (``random``, ``hold``), the exact optimum (``dp``) and the simulation lookahead
#: around a rule (``rollout``). ``sp-mpc`` (H, S and a terminal value tuned like any rule's) counts.
NEVER_TUNED_RULES = frozenset({"random", "hold", "dp", "rollout"})


def policy_names() -> list[str]:
    return sorted(POLICIES)


def rule_names() -> list[str]:
    """The rule sets: every registered policy except the exact optima (the benchmark's default)."""
    return [name for name in policy_names() if name not in NOT_RULES]


def is_tuned_rule(name: str) -> bool:
    """True for a registered policy that counts as a tuned rule when played: every rule set with
    parameters and ``sp-mpc``; never ``NEVER_TUNED_RULES`` or a learned policy's label."""
    return name in POLICIES and name not in NEVER_TUNED_RULES


def best_tuned_rule(means: Mapping[str, float], names: Mapping[str, str] | None = None) -> str | None:
    """The best tuned rule: of the played policies (label -> mean profit), the one with the highest
    mean among those that count as tuned rules (``is_tuned_rule`` of the policy's name: ``names[label]``
    where given, else the label itself; with ``names``, a label it lacks is no rule); the first on a
    tie, None if no tuned rule was played. The one choice behind the benchmark's console, summary and
    report, the reference interval, the results table, the sweep's summary and train's reference."""
    best, best_mean = None, -math.inf
    for label, mean in means.items():
        name = label if names is None else names.get(label)
        if name is not None and is_tuned_rule(name) and float(mean) > best_mean:
            best, best_mean = label, float(mean)
    return best


def make_policy(name: str, env: gym.Env, seed: int | None = None, **params: Any) -> Predictor:
    """A rule set bound to ``env``; unknown names raise ValueError listing the valid ones."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; valid: {', '.join(policy_names())}")
    return POLICIES[name](env.unwrapped, seed=seed, **params)
