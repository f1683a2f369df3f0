"""A read-only snapshot of the world for rule-based policies (``env.unwrapped.state``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.core.unit_decode import available_to_allocate
from allocsim.envs.engine.core import BatchEngine
from allocsim.envs.network import Network
from allocsim.envs.replenishment import order_rule

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AllocationState:
    """Everything a rule may look at when deciding period ``period``; arrays are copies.

    ``forecast`` holds the noisy forecast rates the policy is allowed to see (never
    the realised demand); ``open_orders`` are orders of advance-notice channels that
    are already known, ``known_orders`` the same orders period by period.
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
    headroom: IntArray  # (L,) units each location can still receive before the capacity guardrail
    supply_room: IntArray | None  # (L, S) room under the days-of-supply guardrail; None without one
    # (1 + longest notice, L, S, C) orders known for periods t, t + 1, ... (0 outside a channel's notice)
    known_orders: FloatArray | None = None

    @classmethod
    def of(cls, engine: BatchEngine, b: int = 0,
           rooms: tuple[IntArray, IntArray] | None = None) -> AllocationState:
        """Copy ``b`` of ``engine`` as seen by a rule (the rooms come from the guardrails' own kernel;
        pass ``engine.rooms()`` as ``rooms`` to read many copies after one call)."""
        net, layout, state = engine.net, engine.observation, engine.state
        headroom, supply_room = rooms if rooms is not None else engine.rooms()
        t = int(state.period[b])
        dc_on_hand = state.dc_on_hand[b].copy()
        on_order = state.on_order[b].copy()
        rule = order_rule(net)(dc_on_hand + on_order)
        return cls(
            net=net,
            period=t,
            dc_on_hand=dc_on_hand,
            dc_available=available_to_allocate(dc_on_hand, net.safety_reserve),
            dc_on_order=on_order,
            on_hand=state.on_hand[b].copy(),
            inbound=state.inbound[b].copy(),
            backlog=state.waiting[b].copy(),
            forecast=state.forecast_ring[b, (t + np.arange(layout.horizon)) % layout.horizon],
            open_orders=layout.open_orders(state, b),
            rule_orders=np.minimum(rule, net.supplier_capacity),
            headroom=headroom[b],
            supply_room=None if net.scenario.guardrails.max_days_of_supply is None else supply_room[b],
            known_orders=known_orders(engine, b),
        )


def known_orders(engine: BatchEngine, b: int) -> FloatArray:
    """(1 + longest notice, L, S, C) orders of copy ``b`` already known for periods t, t + 1, ...: each
    advance-notice channel's orders within its notice window (``open_orders`` summed per period)."""
    return engine.observation.known_by_channel(engine.state, [b])[0]
