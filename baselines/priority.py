"""``priority``: serve classes in rank order, holding a critical-level reserve for contracts.

What: each location's forecast over lead time + review is split by channel with
the expected channel mix (plus each channel's waiting backorders and a
``safety_factor`` x sqrt safety stock). Channels are ranked per SKU: contracted
channels (with allocation rights) first, then by channel priority, then by unit
margin (price - unit cost). Going down the ranking, a location's position is used
up first, and the DC then fills what is left, rationed in proportion to need
within a rank. Non-contract ranks may not touch a critical-level reserve of
``reserve_periods`` x the contracted rights per period, kept at the DC for the
locations serving strategic channels (a critical-level rationing policy). With
``timing.holdback_decision`` it also holds back ``holdback`` x each location's
on-hand stock from the channels below the protected ones (``HoldbackParams``).
With ``ship_known_due`` a contracted lane whose orders are known by the time a shipment
lands (advance notice >= lead time) gets only the period's due, min(known orders, rights),
less what will be left there: stock beyond the due would be sold below the rights' value.

Why: this is how allocation planners protect committed and high-value demand
when supply is scarce: strategic customers are served under their rights, the
best-paying classes come next, and low-margin demand gets what remains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from allocsim.baselines.common import HoldbackParams, Plan, RulePolicy, ration, window_demand
from allocsim.envs.state import AllocationState

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv
    from allocsim.envs.network import Network


class PriorityParams(HoldbackParams):
    """Cover window, safety stock, the contract reserve (and the holdback, with the decision)."""

    review_periods: float = Field(
        default=2.0, ge=0.0, description="periods of demand after the lead time each class is covered for"
    )
    safety_factor: float = Field(
        default=1.0, ge=0.0, description="z: safety stock per class in sqrt units of its window demand"
    )
    reserve_periods: float = Field(
        default=5.0, ge=0.0, description="periods of contracted rights kept back from non-contract classes"
    )
    ship_known_due: bool = Field(
        default=False, description="ship contracted lanes with advance notice >= lead time only the known "
        "due of their arrival period (orders capped at the rights), not the forecast need",
    )


class PriorityPolicy(RulePolicy):
    """Contracts first, then higher-priority and higher-margin channels; reserve for contracts."""

    Params = PriorityParams
    params: PriorityParams

    def __init__(self, env: AllocationEnv, seed: int | None = None, **params: Any) -> None:
        super().__init__(env, seed=seed, **params)
        net = self.net
        contract = net.contract_rights > 0  # (S, C)
        priority = np.array([c.priority for c in net.scenario.channels], dtype=np.float64)
        margin = net.price - net.unit_cost[:, None]
        # rank per SKU: contract, then priority, then margin (all descending)
        self.ranking = [
            np.lexsort((-margin[s], -priority, -contract[s].astype(np.float64))) for s in range(net.n_skus)
        ]
        self.contract = contract
        self.reserve = net.contract_rights.sum(axis=1) * self.params.reserve_periods  # (S,)

    @classmethod
    def scenario_grid(cls, net: Network) -> dict[str, list[Any]]:
        """Parameters tuned only where they can matter: ``ship_known_due`` [off, on] when some
        location serves a contracted channel whose advance notice covers its lead time."""
        return {"ship_known_due": [False, True]} if known_due_applies(net) else {}

    def plan(self, state: AllocationState) -> Plan:
        p, net = self.params, self.net
        window = window_demand(state.forecast, net.lead_time + p.review_periods)
        demand = window[:, :, None] * self.channel_share  # (L, S, C)
        need = demand + p.safety_factor * np.sqrt(demand) + state.backlog
        known = self.known_due(state) if p.ship_known_due else None
        left = (state.on_hand + state.inbound).astype(np.float64)
        alloc = np.zeros((net.n_locations, net.n_skus), dtype=np.int64)
        for s in range(net.n_skus):
            pool = int(state.dc_available[s])
            reserve = min(float(self.reserve[s]), pool)
            for c in self.ranking[s]:
                if not net.serves[:, c].any():
                    continue
                if known is not None and self.contract[s, c]:
                    gap = np.where(np.isnan(known[:, s, c]), np.maximum(need[:, s, c] - left[:, s], 0.0),
                                   known[:, s, c])
                else:
                    gap = np.maximum(need[:, s, c] - left[:, s], 0.0)
                left[:, s] = np.maximum(left[:, s] - need[:, s, c], 0.0)
                usable = pool if self.contract[s, c] else max(pool - int(np.ceil(reserve)), 0)
                give = ration(gap[:, None], np.array([usable]))[:, 0]
                alloc[:, s] += give
                pool -= int(give.sum())
                if self.contract[s, c]:
                    reserve = max(reserve - float(give.sum()), 0.0)
                if pool <= 0:
                    break
        return Plan(alloc)

    def known_due(self, state: AllocationState) -> npt.NDArray[np.float64]:
        """(L, S, C) units a contracted lane needs shipped now to meet its due on arrival (period t + lead):
        its stock after the known orders of t .. t + lead - 1 (backorders first) plus all inbound,
        against min(orders, rights); NaN where the orders are not known by then."""
        net, t = self.net, state.period
        out = np.full((net.n_locations, net.n_skus, net.n_channels), np.nan)
        orders = state.known_orders
        if orders is None:
            return out
        for loc in range(net.n_locations):
            lead = int(net.lead_time[loc])
            for c in np.flatnonzero(net.serves[loc]):
                if net.advance_notice[c] < lead:
                    continue
                for s in np.flatnonzero(self.contract[:, c]):
                    if t + lead >= net.periods:
                        out[loc, s, c] = 0.0
                        continue
                    stock, waiting = float(state.on_hand[loc, s]), float(state.backlog[loc, s, c])
                    for q in range(lead):
                        used = min(stock, orders[q, loc, s, c] + waiting)
                        stock, waiting = stock - used, orders[q, loc, s, c] + waiting - used
                    due = min(float(orders[lead, loc, s, c]), float(net.contract_rights[s, c]))
                    out[loc, s, c] = max(due - stock - float(state.inbound[loc, s]), 0.0)
        return out


def known_due_applies(net: Network) -> bool:
    """Whether ``ship_known_due`` can change a plan: a location serves a channel with contract
    rights whose advance notice is at least the location's lead time (``known_due`` is NaN elsewhere)."""
    contracted = (net.contract_rights > 0).any(axis=0)  # (C,)
    covered = net.advance_notice[None, :] >= net.lead_time[:, None]  # (L, C)
    return bool((net.serves & covered & contracted[None, :]).any())
