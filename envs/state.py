"""A read-only snapshot of the model for rule-based policies (``env.unwrapped.state``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.network import Network

if TYPE_CHECKING:
    from allocsim.envs.model import SupplyChainModel

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
    def of(cls, model: SupplyChainModel, open_orders: FloatArray) -> AllocationState:
        t = model.period
        horizon = model.net.scenario.forecast.horizon
        ctx = model.context()
        return cls(
            net=model.net,
            period=t,
            dc_on_hand=model.dc.sum(axis=0),
            dc_available=ctx.dc_available,
            dc_on_order=model.on_order.copy(),
            on_hand=ctx.location_on_hand,
            inbound=model.inbound.copy(),
            backlog=model.backlog.sum(axis=0),
            forecast=model.episode.forecast[t : t + horizon].copy(),
            open_orders=open_orders,
            rule_orders=ctx.rule_orders,
        )
