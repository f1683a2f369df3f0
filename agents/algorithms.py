"""Learning algorithms by name: one place that maps an algorithm name to its stable-baselines3 class.

``ppo`` is the default. Each entry also names the policy class used when the
hyperparameter file gives none (``MlpLstmPolicy`` for the recurrent PPO). An entry with a
``trainer`` is not trained by SB3's ``learn``: ``allocsim.agents.training.train`` hands the run to
that function (``module:function``, imported when used). ``dcl`` (Deep Controlled Learning,
``allocsim.agents.dcl``) is such an entry: its model is a PPO model whose actor DCL fits, so
loading, evaluation and export treat it as PPO.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm


@dataclass(frozen=True)
class Algorithm:
    """An SB3 algorithm: its class, default policy, and whether it keeps a recurrent state."""

    name: str
    cls: type[BaseAlgorithm]
    policy: str = "MlpPolicy"
    recurrent: bool = False
    off_policy: bool = False
    trainer: str | None = None  # "module:function" that trains instead of SB3's learn loop

    def train_function(self) -> Callable[..., Any] | None:
        """The trainer that replaces SB3's learn loop (``training.train``'s signature), or None."""
        if self.trainer is None:
            return None
        module, _, name = self.trainer.partition(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]

    def steps_per_copy(self, n_steps: int | None, train_freq: int | None) -> int:
        """Env steps each copy takes per collection: ``n_steps`` (on-policy) or ``train_freq``
        (off-policy), the class's own default when the hyperparameters leave it out."""
        key, given = ("train_freq", train_freq) if self.off_policy else ("n_steps", n_steps)
        if given is not None:
            return int(given)
        default = inspect.signature(self.cls.__init__).parameters[key].default
        return int(default[0] if isinstance(default, tuple) else default)


DEFAULT_ALGO = "ppo"

ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("ppo", PPO),
        Algorithm("a2c", A2C),
        Algorithm("sac", SAC, off_policy=True),
        Algorithm("td3", TD3, off_policy=True),
        Algorithm("recurrent-ppo", RecurrentPPO, policy="MlpLstmPolicy", recurrent=True),
        Algorithm("dcl", PPO, trainer="allocsim.agents.dcl:train_dcl"),
    )
}


def algo_names() -> list[str]:
    return list(ALGORITHMS)


def algorithm(name: str) -> Algorithm:
    """The algorithm called ``name``; ValueError listing the valid names otherwise."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; valid: {', '.join(ALGORITHMS)}") from None
