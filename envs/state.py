"""A read-only snapshot of the world for rule-based policies (``env.unwrapped.state``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.engine.state import EngineState
from allocsim.envs.network import Network
from allocsim.envs.observation import ObservationLayout
from allocsim.envs.replenishment import order_rule

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AllocationState:
    """Everything a rule may look at when deciding period ``period``; arrays are copies.

    ``forecast`` holds the noisy forecast rates the policy is allowed to see (never
    the realised demand); ``open_orders`` are orders of advance-notice channels that
    are already known.
    """

    net: Network
    period: int
    dc_on_hand: IntArray  # (S,)
    dc_available: IntArray  # (S,)
    dc_on_order: IntArray  # (S,)
    on_hand: IntArray  # (L, S)
    inbound: IntArray  # (L, S)
    backlog: IntArray  # (L, S, C)
    forecast: FloatArray  # (H, L, S) forecast units per period for t .. t + H - 1
    open_orders: FloatArray  # (L, S)
    rule_orders: IntArray  # (S,) what the scenario's DC rule will order anyway

    @classmethod
    def of(cls, net: Network, layout: ObservationLayout, state: EngineState, b: int = 0) -> AllocationState:
        """Copy ``b`` of the engine ``state`` as seen by a rule."""
        t = int(state.period[b])
        dc_on_hand = state.dc[b].sum(axis=0)
        on_order = state.on_order[b].copy()
        rule = order_rule(net)(dc_on_hand + on_order)
        return cls(
            net=net,
            period=t,
            dc_on_hand=dc_on_hand,
            dc_available=np.maximum(dc_on_hand - net.safety_reserve, 0),
            dc_on_order=on_order,
            on_hand=state.stock[b].sum(axis=0),
            inbound=state.inbound[b].copy(),
            backlog=state.backlog[b].sum(axis=0),
            forecast=state.forecast[b, t : t + layout.horizon].copy(),
            open_orders=layout.open_orders(state.demand[b], t),
            rule_orders=np.minimum(rule, net.supplier_capacity),
        )
