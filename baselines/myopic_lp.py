"""``myopic-lp``: a one-period expected-profit LP over allocation and transfers, solved by HiGHS.

What: for each location and SKU, demand over the location's cover window (lead
time + ``review_periods``) is taken as normal with the forecast as mean (plus the
backorders waiting) and variance ``variance_factor`` x mean + (forecast cv x
mean)^2. Expected sales ``E[min(stock, demand)]`` is concave in stock; the LP uses
its piecewise-linear interpolation through the demand quantiles ``quantiles``
(each segment's slope is the exact secant, so the approximation stays concave).
A unit placed in a segment earns ``value x slope`` where ``value`` is the
channel-mix-weighted unit margin (price - unit cost, plus the shortage and
contract penalties a lost sale would cost when ``include_penalties``) plus the
holding cost over the window that a sold unit no longer incurs (holding is
charged alike at the DC and at locations, so only sold units change it).
Shipping costs per unit shipped, transfers per unit moved; moving a unit out of
a location gives up that location's segment value. Constraints: DC available
stock per SKU, location capacity headroom (shipments plus incoming transfers),
the days-of-supply guardrail, transfer source stock and, with
``avoid_approval_delay``, lane approval thresholds. Stock past the last
quantile has no value in the window, so surplus stays at the DC.

With ``timing.holdback_decision`` the rule, which prices contract penalties, also holds
back ``holdback`` x each location's on-hand stock from the channels below the protected
ones (``HoldbackParams``).

The LP is solved with ``scipy.optimize.linprog(method="highs")``; the solution is
rounded down to whole units, which keeps every constraint satisfied.

Why: the natural "one step of optimisation" benchmark between rules and
learning: it prices margin, penalty, shipping and lateral moves explicitly but
ignores every future period beyond the window (hence myopic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field, field_validator

from allocsim.baselines.common import (
    FloatArray,
    HoldbackParams,
    Plan,
    RulePolicy,
    capacity_headroom,
    supply_room,
)
from allocsim.baselines.common import window_demand as _window
from allocsim.envs.state import AllocationState

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


class MyopicLPParams(HoldbackParams):
    """Demand model, breakpoints and options of the one-period LP (and the holdback, with the decision)."""

    review_periods: float = Field(
        default=2.0, ge=0.0,
        description="periods of demand after the lead time the window values (1 reaches the next "
        "shipment; more hedges for the periods the myopic LP does not see)",
    )
    quantiles: tuple[float, ...] = Field(
        default=(0.25, 0.5, 0.75, 0.9, 0.97),
        description="demand quantiles used as breakpoints of expected sales (strictly increasing)",
    )
    variance_factor: float = Field(
        default=1.5, ge=0.0, description="demand variance per unit of mean (1 = Poisson)"
    )
    include_penalties: bool = Field(default=True, description="add shortage and contract penalties to margin")
    avoid_approval_delay: bool = Field(
        default=True, description="keep each transfer at or under its lane's approval threshold"
    )

    @field_validator("quantiles")
    @classmethod
    def _increasing(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(not 0.0 < q < 1.0 for q in value) or list(value) != sorted(set(value)):
            raise ValueError("quantiles must be strictly increasing values in (0, 1)")
        return value


def expected_sales(stock: FloatArray, mean: FloatArray, sd: FloatArray) -> FloatArray:
    """E[min(stock, D)] for D ~ Normal(mean, sd), broadcast over trailing breakpoints."""
    from scipy.special import ndtr  # SciPy on first use: `benchmark` lists the rules before it loads

    z = (stock - mean) / sd
    loss = np.exp(-0.5 * z * z) * _INV_SQRT_2PI - z * (1.0 - ndtr(z))
    return mean - sd * loss


class MyopicLPPolicy(RulePolicy):
    """Maximise next-window expected margin minus shipping and transfer cost; floor to units."""

    Params = MyopicLPParams
    params: MyopicLPParams

    def __init__(self, env: AllocationEnv, seed: int | None = None, **params: Any) -> None:
        super().__init__(env, seed=seed, **params)
        net, p = self.net, self.params
        margin = net.price - net.unit_cost[:, None]  # (S, C)
        if p.include_penalties:
            margin = margin + net.shortage_penalty[None, :] + np.where(
                net.contract_rights > 0, net.contract_penalty[None, :], 0.0
            )
        self.window = net.lead_time + p.review_periods  # (L,)
        value = (self.channel_share * margin[None]).sum(axis=2)  # (L, S)
        self.value = value + net.location_holding_cost * self.window[:, None]
        from scipy.special import ndtri

        self.z = ndtri(np.asarray(p.quantiles))
        self.cv = net.scenario.forecast.noise_cv
        self.sources = np.unique(net.lane_source)

    def _curve(self, state: AllocationState) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Demand mean, sd (L, S, 1) and breakpoints (L, S, Q) of each window."""
        fc = _window(state.forecast, self.window)
        mean = fc + state.backlog.sum(axis=2)
        sd = np.sqrt(self.params.variance_factor * fc + (self.cv * fc) ** 2) + 1e-3
        points = np.maximum(mean[..., None] + sd[..., None] * self.z, 0.0)
        return mean[..., None], sd[..., None], points

    def plan(self, state: AllocationState) -> Plan:
        mean, sd, points = self._curve(state)
        stock = (state.on_hand + state.inbound).astype(np.float64)[..., None]
        # segments above today's stock: [stock, max(b_k, stock)]
        up = np.concatenate([stock, np.maximum(points, stock)], axis=2)
        up_len = np.diff(up, axis=2)
        up_slope = np.diff(expected_sales(up, mean, sd), axis=2) / np.maximum(up_len, 1e-12)
        room = supply_room(state)
        if room is not None:  # truncate the segments cumulatively at the days-of-supply room
            reach = np.minimum(np.cumsum(up_len, axis=2), room[..., None])
            up_len = np.diff(np.concatenate([np.zeros_like(stock), reach], axis=2), axis=2)
        if self.net.n_lanes:
            return self._solve_with_lanes(state, mean, sd, points, stock, up_len, up_slope)
        return Plan(self._solve_allocation(state, up_len, up_slope))

    def _solve_allocation(self, state: AllocationState, up_len: FloatArray, slope: FloatArray) -> np.ndarray:
        """No lanes: shipments are the segment fills themselves (S + L rows)."""
        net = self.net
        n_l, n_s, _ = up_len.shape
        gain = self.value[..., None] * slope - net.shipping_cost[:, None, None]
        keep = (up_len > 1e-9) & (gain > 0) & (state.dc_available[None, :, None] > 0)
        loc, sku, _ = np.nonzero(keep)
        if loc.size == 0:
            return np.zeros((n_l, n_s), dtype=np.int64)
        a_ub = np.zeros((n_s + n_l, loc.size))
        cols = np.arange(loc.size)
        a_ub[sku, cols] = 1.0
        a_ub[n_s + loc, cols] = 1.0
        b_ub = np.concatenate([state.dc_available, capacity_headroom(state)]).astype(np.float64)
        bounds = np.column_stack([np.zeros(loc.size), up_len[keep]])
        from scipy.optimize import linprog

        res = linprog(-gain[keep], A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs",
                      options={"presolve": False})
        shipped = np.zeros((n_l, n_s))
        if res.x is not None:
            np.add.at(shipped, (loc, sku), res.x)
        return np.floor(shipped + 1e-6).astype(np.int64)

    def _solve_with_lanes(
        self, state: AllocationState, mean: FloatArray, sd: FloatArray, points: FloatArray,
        stock: FloatArray, up_len: FloatArray, up_slope: FloatArray,
    ) -> Plan:
        """Lanes: shipments x, transfers y, up and down segments tied by one balance row per (L, S)."""
        net, p = self.net, self.params
        n_l, n_s = net.n_locations, net.n_skus
        # segments below today's stock at lane sources: [min(b_{k-1}, stock), min(b_k, stock)]
        down = np.concatenate([np.zeros_like(stock), np.minimum(points, stock), stock], axis=2)
        down_len = np.diff(down, axis=2)
        down_slope = np.diff(expected_sales(down, mean, sd), axis=2) / np.maximum(down_len, 1e-12)
        is_source = np.isin(np.arange(n_l), self.sources)[:, None, None]
        up_keep = (up_len > 1e-9) & (up_slope * self.value[..., None] > 0)
        dn_keep = (down_len > 1e-9) & is_source
        u_l, u_s, _ = np.nonzero(up_keep)
        d_l, d_s, _ = np.nonzero(dn_keep)
        x_l, x_s = np.nonzero(np.broadcast_to(state.dc_available[None, :] > 0, (n_l, n_s)))
        y_k, y_s = np.divmod(np.arange(net.n_lanes * n_s), n_s)
        n_u, n_d, n_x, n_y = u_l.size, d_l.size, x_l.size, y_k.size
        cost = np.concatenate([
            -(self.value[u_l, u_s] * up_slope[up_keep]),
            self.value[d_l, d_s] * down_slope[dn_keep],
            net.shipping_cost[x_l],
            net.lane_cost[y_k],
        ])
        src, dst = net.lane_source[y_k], net.lane_target[y_k]
        # balance per (l, s): up - down - shipped - transferred in + transferred out = 0
        a_eq = np.zeros((n_l * n_s, n_u + n_d + n_x + n_y))
        off = np.cumsum([0, n_u, n_d, n_x])
        a_eq[u_l * n_s + u_s, off[0] + np.arange(n_u)] = 1.0
        a_eq[d_l * n_s + d_s, off[1] + np.arange(n_d)] = -1.0
        a_eq[x_l * n_s + x_s, off[2] + np.arange(n_x)] = -1.0
        a_eq[dst * n_s + y_s, off[3] + np.arange(n_y)] = -1.0
        a_eq[src * n_s + y_s, off[3] + np.arange(n_y)] += 1.0
        # DC stock (S), capacity (L), transfer source stock (L x S)
        a_ub = np.zeros((n_s + n_l + n_l * n_s, a_eq.shape[1]))
        a_ub[x_s, off[2] + np.arange(n_x)] = 1.0
        a_ub[n_s + x_l, off[2] + np.arange(n_x)] = 1.0
        a_ub[n_s + dst, off[3] + np.arange(n_y)] = 1.0
        a_ub[n_s + n_l + src * n_s + y_s, off[3] + np.arange(n_y)] = 1.0
        b_ub = np.concatenate([state.dc_available, capacity_headroom(state), state.on_hand.ravel()])
        y_cap = state.on_hand[src, y_s].astype(np.float64)
        if p.avoid_approval_delay:
            y_cap = np.minimum(y_cap, net.lane_threshold[y_k])
        upper = np.concatenate([up_len[up_keep], down_len[dn_keep], state.dc_available[x_s], y_cap])
        from scipy.optimize import linprog

        res = linprog(cost, A_ub=a_ub, b_ub=b_ub.astype(np.float64), A_eq=a_eq, b_eq=np.zeros(n_l * n_s),
                      bounds=np.column_stack([np.zeros_like(upper), upper]), method="highs")
        alloc = np.zeros((n_l, n_s), dtype=np.int64)
        moves = np.zeros((net.n_lanes, n_s), dtype=np.int64)
        if res.x is not None:
            units = np.floor(res.x + 1e-6).astype(np.int64)
            alloc[x_l, x_s] = units[off[2] : off[3]]
            moves[y_k, y_s] = units[off[3] :]
        return Plan(alloc, moves)
