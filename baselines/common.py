"""What every rule set shares: typed parameters, the predictor shell and small numeric helpers.

A rule set reads the structured state (``env.state``, an ``AllocationState``) rather
than the normalised observation, decides in whole units, and hands those units to
``ActionLayout.encode``. The env then decodes that action with the very decode and
guardrails a learned policy goes through, so rules and agents are compared on equal
terms. Rules make their own proposal feasible first (DC stock, location capacity,
the days-of-supply cap) so that a guardrail trim never silently changes their logic.

Replenishment, where the scenario gives it to the policy (``net.policy_orders``), is
the same for every rule: order up to an *echelon-free DC target* -- the forecast
network demand over the mean supplier lead time plus ``order_cover_periods`` --
against the DC inventory position (on hand + on order). Locations hold their own
cover (lead time + review), so the DC only needs to bridge the supplier lead time
and a short buffer; the target is cut to the periods left in the horizon so that
late orders do not buy stock that can only be salvaged. Transfers stay at zero in
every rule except ``myopic-lp``, which prices them in its LP.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from allocsim.envs.network import Network
from allocsim.envs.scenario.entities import UniformLeadTime
from allocsim.envs.state import AllocationState

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


#: the largest rule parameter (periods of cover, days, factors): ten years of days
MAX_RULE_PARAM = 3650.0


class RuleParams(BaseModel):
    """Parameters every rule shares; subclasses add their own (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_cover_periods: float = Field(
        default=3.0, ge=0.0, description="periods of network demand beyond the supplier lead time "
        "that policy replenishment keeps in the DC inventory position",
    )

    @field_validator("*", mode="after")
    @classmethod
    def _finite_and_bounded(cls, value: Any) -> Any:
        """Every number (periods, days, factors, quantiles) finite and at most ``MAX_RULE_PARAM``."""
        numbers = value if isinstance(value, tuple) else (value,)
        for number in numbers:
            if isinstance(number, float) and not (math.isfinite(number) and abs(number) <= MAX_RULE_PARAM):
                raise ValueError(f"must be a finite number of at most {MAX_RULE_PARAM:g}")
        return value


@dataclass(frozen=True)
class Plan:
    """A rule's decision in units: allocation (L, S) and, optionally, transfers (K, S)."""

    allocation: IntArray
    transfers: IntArray | None = None


class RulePolicy(ABC):
    """The stable-baselines3 predictor shell around a rule's ``plan``.

    ``Cls(env, seed=None, **params)`` validates ``params`` against ``Params``; the
    rules are deterministic, ``seed`` (kept in ``self.rng``) is there so every
    policy is built the same way.
    ``predict`` reads ``env.state`` of the one env the rule is bound to, so it
    accepts a single observation (or a batch of one), never a vector of envs.
    """

    Params: ClassVar[type[RuleParams]] = RuleParams

    def __init__(self, env: AllocationEnv, seed: int | None = None, **params: Any) -> None:
        self.env = env
        self.params = self.Params(**params)
        self.net: Network = env.network
        self.layout = env.action_layout
        self.rng = np.random.default_rng(seed)
        self.channel_share = channel_shares(env)

    @abstractmethod
    def plan(self, state: AllocationState) -> Plan:
        """Whole units to ship (and move) this period; need not respect capacity yet."""

    def decide(self, state: AllocationState) -> tuple[IntArray, IntArray | None, FloatArray | None]:
        """Feasible allocation (L, S), transfers (K, S) or None, order share (S,) or None."""
        plan = self.plan(state)
        alloc = make_feasible(plan.allocation, state, plan.transfers)
        orders = order_share(state, self.params.order_cover_periods) if self.net.policy_orders else None
        return alloc, plan.transfers, orders

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], None]:
        obs = np.asarray(observation)
        if obs.ndim > 1 and obs.shape[0] != 1:
            raise ValueError(f"a rule set drives one env; got a batch of {obs.shape[0]} observations")
        snapshot = self.env.state
        alloc, transfers, orders = self.decide(snapshot)
        share = None if transfers is None else transfer_share(transfers, snapshot, self.net)
        action = self.layout.encode(alloc, snapshot.dc_available, share, orders)
        return (action[None] if obs.ndim > 1 else action), None


# ----------------------------------------------------------------- demand views
def channel_shares(env: AllocationEnv) -> FloatArray:
    """Expected share of each channel in a location's demand (L, S, C), from the demand model.

    The forecast is per location and SKU; rules that price channels (priority,
    margins) split it by the expected channel mix over the episode.
    """
    net = env.network
    mean = env.profile.mean[: net.periods].sum(axis=0)  # (L, S, C)
    total = mean.sum(axis=2, keepdims=True)
    equal = net.serves[:, None, :] / np.maximum(net.serves.sum(axis=1), 1)[:, None, None]
    return np.where(total > 0, mean / np.where(total > 0, total, 1.0), equal)


def window_demand(forecast: FloatArray, periods: FloatArray | float) -> FloatArray:
    """Forecast units (L, S) over the next ``periods`` (scalar or per location, fractional ok).

    Beyond the forecast horizon the horizon's mean rate is assumed.
    """
    horizon, n_l, _ = forecast.shape
    span = np.broadcast_to(np.asarray(periods, dtype=np.float64), (n_l,))
    cum = np.concatenate([np.zeros((1, *forecast.shape[1:])), np.cumsum(forecast, axis=0)])
    inside = np.minimum(span, horizon)
    whole = np.floor(inside).astype(np.int64)
    part = inside - whole
    rows = np.arange(n_l)
    nxt = np.minimum(whole + 1, horizon)
    within = cum[whole, rows] + part[:, None] * (cum[nxt, rows] - cum[whole, rows])
    rate = cum[-1] / max(horizon, 1)
    return within + np.maximum(span - horizon, 0.0)[:, None] * rate


def net_position(state: AllocationState) -> FloatArray:
    """Location inventory position (L, S): on hand + in transit - backorders waiting."""
    return (state.on_hand + state.inbound - state.backlog.sum(axis=2)).astype(np.float64)


# ------------------------------------------------------------- integer helpers
def round_columns(amount: FloatArray, totals: IntArray) -> IntArray:
    """Integers (L, S) from ``amount`` whose column sums are ``totals``, by largest remainder."""
    base = np.floor(amount).astype(np.int64)
    short = np.maximum(totals - base.sum(axis=0), 0)
    if not short.any():
        return base
    order = np.argsort(base - amount, axis=0, kind="stable")  # biggest remainder first
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(len(amount))[:, None].repeat(amount.shape[1], 1), axis=0)
    return base + (ranks < short[None, :])


def fill_level(weight: FloatArray, offset: FloatArray, cap: FloatArray, total: FloatArray) -> FloatArray:
    """Water-filling: amounts ``clip(theta * weight - offset, 0, cap)`` per column summing to ``total``.

    ``theta`` is found per column (SKU) by bisection; when even the caps sum to less
    than ``total`` every entry gets its cap. Used for capped proportional shares
    (``offset`` 0) and for equal days of supply (``offset`` = position).
    """
    cap = np.maximum(cap, 0.0)

    def amount(theta: FloatArray) -> FloatArray:
        return np.clip(theta[None, :] * weight - offset, 0.0, cap)

    reach = np.where(weight > 0, (offset + cap) / np.where(weight > 0, weight, 1.0), 0.0)
    low = np.zeros(weight.shape[1])
    high = reach.max(axis=0, initial=0.0)
    for _ in range(48):
        mid = 0.5 * (low + high)
        over = amount(mid).sum(axis=0) > total
        high = np.where(over, mid, high)
        low = np.where(over, low, mid)
    return amount(low)


def ration(request: FloatArray, available: IntArray) -> IntArray:
    """Whole units: the request where stock suffices, else shares proportional to the request."""
    want = np.maximum(np.ceil(request - 1e-9), 0.0)
    total = want.sum(axis=0)
    factor = np.where(total > available, available / np.maximum(total, 1.0), 1.0)
    return round_columns(want * factor[None, :], np.minimum(total, available).astype(np.int64))


# ---------------------------------------------------------------- feasibility
def capacity_headroom(state: AllocationState) -> IntArray:
    """Units each location can still receive (L,) before the capacity guardrail trims (the env's own)."""
    return state.headroom


def supply_room(state: AllocationState) -> IntArray | None:
    """Per (L, S) room under the days-of-supply guardrail (the env's own), or None without one."""
    return state.supply_room


def make_feasible(
    alloc: IntArray, state: AllocationState, transfers: IntArray | None = None
) -> IntArray:
    """Cut a proposal to DC stock, the days-of-supply cap and capacity (after incoming transfers)."""
    alloc = np.maximum(np.asarray(alloc, dtype=np.int64), 0)
    room = supply_room(state)
    if room is not None:
        alloc = np.minimum(alloc, room)
    col = alloc.sum(axis=0)
    if (col > state.dc_available).any():
        alloc = ration(alloc.astype(np.float64), state.dc_available)
    headroom = capacity_headroom(state)
    if transfers is not None and transfers.size:
        incoming = np.zeros(state.net.n_locations, dtype=np.int64)
        np.add.at(incoming, state.net.lane_target, transfers.sum(axis=1))
        headroom = np.maximum(headroom - incoming, 0)
    rows = alloc.sum(axis=1)
    over = rows > headroom
    if over.any():
        scaled = alloc[over] * (headroom[over] / rows[over])[:, None]
        alloc = alloc.copy()
        alloc[over] = round_columns(scaled.T, headroom[over]).T
    return alloc


# --------------------------------------------------------------- other blocks
def transfer_share(transfers: IntArray, state: AllocationState, net: Network) -> FloatArray:
    """The action's transfer block (K, S) that asks for ``transfers`` units on each lane."""
    source = state.on_hand[net.lane_source].astype(np.float64)
    share = np.where(source > 0, (transfers + 0.25) / np.maximum(source, 1.0), 0.0)
    return np.where(transfers > 0, np.minimum(share, 1.0), 0.0)


def supplier_lead(net: Network) -> tuple[int, float]:
    """Shortest and mean supplier lead time in periods."""
    lead = net.scenario.supplier.lead_time
    if isinstance(lead, UniformLeadTime):
        return lead.low, 0.5 * (lead.low + lead.high)
    return lead.periods, float(lead.periods)


def order_share(state: AllocationState, cover_periods: float) -> FloatArray:
    """Order block (S,): raise the DC inventory position to network demand over lead + cover.

    The window is cut to the periods left, so no stock is bought only to be
    salvaged, and nothing is ordered once even the shortest lead time ends past the horizon.
    """
    net = state.net
    shortest, mean = supplier_lead(net)
    left = net.periods - state.period
    if left <= shortest:
        return np.zeros(net.n_skus)
    window = min(mean + cover_periods, float(left))
    target = window_demand(state.forecast, window).sum(axis=0)
    position = state.dc_on_hand + state.dc_on_order
    order = np.clip(np.ceil(target - position), 0.0, net.max_order)
    return np.where(net.max_order > 0, order / np.maximum(net.max_order, 1), 0.0)
