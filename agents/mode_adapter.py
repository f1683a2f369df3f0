"""A policy trained in ``targets`` or ``residual`` mode, driving an env of ``shares`` actions.

Rules and the evaluator's envs speak ``shares``. A policy of another action mode
decides its parameters from the observation; ``ModeAdapter`` turns them into the
``shares`` action that asks for the same units in the env's current state, exactly as
the env of that mode does (``TargetsMode.shares_action``), so the episode is the same
either way.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from allocsim.core.order_up_to import TargetRanges
from allocsim.envs.action_modes import ActionMode, TargetsMode, make_action_mode, mode_from_ranges
from allocsim.envs.network import Network


class Predictor(Protocol):
    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[Any, Any]: ...

    def fresh(self) -> Any: ...

    def check_env(self, env: Any) -> None: ...


def policy_mode(policy: Any, net: Network) -> ActionMode:
    """The action mode ``policy`` was trained in: an ONNX card's ranges, or a run's config."""
    card = getattr(policy, "card", None)
    if card is not None and card.any_network and list(net.locations) != card.locations:
        # a policy shared across locations on another network: the mode's ranges of that network
        return make_action_mode(card.action_mode, net, card.residual_around or None)
    if card is not None:
        ranges = TargetRanges(**{k: np.asarray(v) for k, v in card.target_ranges.items()}) \
            if card.target_ranges else None
        return mode_from_ranges(card.action_mode, net, ranges, card.order_stop_periods)
    return make_action_mode(getattr(policy, "action_mode", "shares"), net,
                            getattr(policy, "residual_around", None))


class ModeAdapter:
    """``policy``'s decisions as ``shares`` actions of ``env`` (one env, like a rule)."""

    def __init__(self, policy: Predictor, env: Any, mode: TargetsMode) -> None:
        self.policy, self.env, self.mode = policy, env, mode
        self.name = getattr(policy, "name", "learned")

    def predict(self, observation: Any, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[NDArray[np.float32], Any]:
        action, _ = self.policy.predict(observation, deterministic=deterministic)
        rows = np.asarray(action)
        single = rows.ndim == 1
        row = rows if single else rows[0]
        shares = self.mode.shares_action(self.env.state, self.mode.validate(row))
        return (shares if single else shares[None]), None

    def fresh(self) -> ModeAdapter:
        return ModeAdapter(self.policy.fresh(), self.env, self.mode)

    def check_env(self, env: Any) -> None:
        """Nothing beyond the check made when the adapter was built (the env speaks shares)."""


def for_env(policy: Predictor, env: Any) -> Predictor:
    """``policy`` ready to drive ``env`` (a ``shares`` env): itself, or adapted from its action mode.

    ValueError when the observation or the action sizes do not fit.
    """
    unwrapped = env.unwrapped
    env_mode = getattr(unwrapped, "action_mode", None)
    mode = policy_mode(policy, unwrapped.network)
    if not isinstance(mode, TargetsMode) or (env_mode is not None and env_mode.name != "shares"):
        policy.check_env(env)
        return policy
    name = getattr(policy, "name", "policy")
    card = getattr(policy, "card", None)
    if card is not None and card.any_network:  # its graph takes this env's observation: SKUs, channels, lanes
        policy.check_env(env)
        return ModeAdapter(policy, unwrapped, mode)
    if card is not None:
        sizes = (card.observation_size, card.action_size)
    else:
        model = policy.model  # type: ignore[attr-defined]
        sizes = (model.observation_space.shape[0], model.action_space.shape[0])
    want = (env.observation_space.shape[0], mode.size)
    if sizes != want:
        raise ValueError(f"{name} takes observations ({sizes[0]},) and {mode.name} actions ({sizes[1]},); "
                         f"this scenario gives ({want[0]},) and ({want[1]},)")
    return ModeAdapter(policy, unwrapped, mode)
