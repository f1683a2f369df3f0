"""Rule sets deciding for every copy of a batched engine at once (the base policies of rollouts).

``batch_policy(name, engine, params)`` is the rule ``name`` as a ``BatchPolicy``
(``allocsim.envs.rollouts``). A rule with a batched form decides for the whole batch in one
call: ``base-stock`` is a constant ``targets`` action (the order-up-to arithmetic is
``allocsim.core.order_up_to``, shared by the rule and the mode, compiled for a batch), used
whenever the mode's decode gives back the rule's parameters exactly. Every other rule (or parameters off the
mode's grid) decides copy by copy through ``CopyRules``: the same decisions, slower.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines.base_stock import BaseStockParams
from allocsim.baselines.registry import Predictor, make_policy
from allocsim.envs.action_modes import TargetsMode
from allocsim.envs.actions import Fractions
from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.rollouts import BatchPolicy, ConstantAction
from allocsim.envs.state import AllocationState

IntArray = NDArray[np.int64]


class EngineCopy:
    """Copy ``b`` of a batched engine through the single env's read-only attributes, for a rule.

    ``state`` reads the guardrails' rooms from ``rooms`` (refreshed once per batch decision by
    ``CopyRules``), so a batch of rules does not recompute every copy's rooms per copy.
    """

    def __init__(self, engine: BatchEngine, b: int, rooms: list[tuple[IntArray, IntArray]]) -> None:
        self.engine, self.b, self._rooms = engine, b, rooms
        self.network, self.profile = engine.net, engine.profile
        self.scenario = engine.net.scenario
        self.action_layout, self.observation_layout = engine.actions, engine.observation

    @property
    def unwrapped(self) -> EngineCopy:
        return self

    @property
    def state(self) -> AllocationState:
        return AllocationState.of(self.engine, self.b, self._rooms[0] if self._rooms else None)


class CopyRules:
    """Any registered rule as a batch policy: one instance per copy, each deciding for its copy."""

    def __init__(self, name: str, engine: BatchEngine, params: Mapping[str, Any]) -> None:
        self._rooms: list[tuple[IntArray, IntArray]] = []
        self.rules: list[Predictor] = [make_policy(name, EngineCopy(engine, b, self._rooms), **params)
                                       for b in range(engine.batch)]

    def fractions(self, engine: BatchEngine) -> Fractions:
        self._rooms[:] = [engine.rooms()]
        actions = np.stack([np.asarray(rule.predict(engine.obs[b])[0], dtype=np.float64)
                            for b, rule in enumerate(self.rules)])
        self._rooms.clear()
        return engine.actions.fractions(engine.actions.validate_batch(actions, engine.batch))


def _base_stock(engine: BatchEngine, params: Mapping[str, Any]) -> BatchPolicy | None:
    """Base-stock as a constant ``targets`` action, or None when the mode cannot say its parameters
    exactly (off the 1/1024 grid or outside the mode's ranges)."""
    p = BaseStockParams(**params)
    net = engine.net
    mode = TargetsMode(net, order_stop_periods=p.order_stop_periods)
    n_s = net.n_skus
    cover = np.repeat(net.lead_time.astype(np.float64) + p.review_periods, n_s)
    values = [cover, np.full(n_s, p.safety_factor), np.zeros(n_s)]
    if net.policy_orders:
        values.append(np.full(n_s, p.order_cover_periods))
    ranges = mode.ranges()
    action = ranges.action_for(np.concatenate(values))
    if np.abs(action).max(initial=0.0) > 1.0:
        return None
    got = mode.parameters(action)
    exact = (np.array_equal(got.cover.reshape(-1), cover) and np.all(got.safety == p.safety_factor)
             and not got.keep.any()
             and (not net.policy_orders or np.all(got.order_cover == p.order_cover_periods)))
    return ConstantAction(mode, action) if exact else None


#: rules with a batched form: name -> builder (None when these parameters have no batched form)
BATCHED: dict[str, Callable[[BatchEngine, Mapping[str, Any]], BatchPolicy | None]] = {
    "base-stock": _base_stock,
}


def batch_policy(name: str, engine: BatchEngine, params: Mapping[str, Any] | None = None) -> BatchPolicy:
    """The rule ``name`` with ``params`` deciding for every copy of ``engine``: batched if it can be."""
    params = dict(params or {})
    build = BATCHED.get(name)
    fast = build(engine, params) if build is not None else None
    return fast if fast is not None else CopyRules(name, engine, params)
