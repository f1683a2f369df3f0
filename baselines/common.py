"""What every rule set shares: typed parameters, the predictor shell and small numeric helpers.

A rule set reads the structured state (``env.state``, an ``AllocationState``) rather
than the normalised observation, decides in whole units, and hands those units to
``ActionLayout.encode``: a float64 action that the env decodes back to exactly those
units (no float32 between, exact far beyond the schema's 1e9 units per SKU), through the
very decode and guardrails a learned policy goes through, so rules and agents are
compared on equal terms. Rules make their own proposal feasible first (DC stock, location capacity,
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

from allocsim.core.limits import MAX_PERIODS
from allocsim.core.order_up_to import inventory_position
from allocsim.envs.engine.targets import COMPILED
from allocsim.envs.network import Network
from allocsim.envs.replenishment import order_lead
from allocsim.envs.replenishment import supplier_lead as supplier_lead
from allocsim.envs.state import AllocationState

if TYPE_CHECKING:
    from allocsim.envs.allocation_env import AllocationEnv

# the order-up-to arithmetic (``allocsim.core.order_up_to_loops``, compiled), re-exported for the rules
ration = COMPILED.ration
round_columns = COMPILED.round_columns
window_demand = COMPILED.window_demand

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
    order_stop_periods: float = Field(
        default=0.0, ge=0.0, le=MAX_PERIODS, description="no supplier order in the last this many periods "
        "of the horizon (floored; 0: only where even the shortest lead time ends past it), so the "
        "network runs its stock down before the end",
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


class HoldbackParams(RuleParams):
    """A rule that also decides the holdback, in scenarios with ``timing.holdback_decision``."""

    holdback: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share of each location's on-hand stock kept from the "
        "channels below the protected ones (only with timing.holdback_decision; 0: none)",
    )


#: ``holdback`` values ``allocsim tune`` adds to the grid of a rule with ``HoldbackParams``
#: when the scenario has the holdback decision (exact in float32, so the action carries them as is)
HOLDBACK_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


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
    #: supplier orders by the shared order-up-to rule (``order_share``) where the policy places them
    ORDERS_BY_RULE: ClassVar[bool] = True

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
        orders = (order_share(state, self.params.order_cover_periods, self.params.order_stop_periods)
                  if self.net.policy_orders else None)
        return alloc, plan.transfers, orders

    def holdback_share(self) -> FloatArray | None:
        """The action's holdback block (L, S): ``params.holdback`` everywhere for a rule with
        ``HoldbackParams``, else None (no holdback); ignored when the scenario has no such block."""
        if not isinstance(self.params, HoldbackParams):
            return None
        return np.full((self.net.n_locations, self.net.n_skus), self.params.holdback)

    def predict(
        self,
        observation: NDArray[np.float32],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[FloatArray, None]:
        obs = one_observation(observation, "a rule set")
        snapshot = self.env.state
        alloc, transfers, orders = self.decide(snapshot)
        share = None if transfers is None else transfer_share(transfers, snapshot, self.net)
        action = self.layout.encode(alloc, snapshot.dc_available, share, orders, self.holdback_share())
        return (action[None] if obs.ndim > 1 else action), None


def one_observation(observation: Any, who: str) -> NDArray[Any]:
    """``observation`` as an array; ValueError for a batch of several: ``who`` drives one env."""
    obs = np.asarray(observation)
    if obs.ndim > 1 and obs.shape[0] != 1:
        raise ValueError(f"{who} drives one env; got a batch of {obs.shape[0]} observations")
    return obs


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


def net_position(state: AllocationState) -> FloatArray:
    """Location inventory position (L, S): on hand + in transit - backorders waiting."""
    return inventory_position(state.on_hand, state.inbound, state.backlog.sum(axis=2))


# ------------------------------------------------------------- integer helpers
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
    headroom = capacity_headroom(state)
    if transfers is not None and transfers.size:
        incoming = np.zeros(state.net.n_locations, dtype=np.int64)
        np.add.at(incoming, state.net.lane_target, transfers.sum(axis=1))
        headroom = np.maximum(headroom - incoming, 0)
    return COMPILED.feasible_allocation(alloc, state.dc_available, supply_room(state), headroom)


# --------------------------------------------------------------- other blocks
def transfer_share(transfers: IntArray, state: AllocationState, net: Network) -> FloatArray:
    """The action's transfer block (K, S) that asks for ``transfers`` units on each lane."""
    source = state.on_hand[net.lane_source].astype(np.float64)
    share = np.where(source > 0, (transfers + 0.25) / np.maximum(source, 1.0), 0.0)
    return np.where(transfers > 0, np.minimum(share, 1.0), 0.0)


def order_share(state: AllocationState, cover_periods: float, stop_periods: float = 0.0) -> FloatArray:
    """Order block (S,): raise the DC inventory position to network demand over lead + cover.

    The window is cut to the periods left, so no stock is bought only to be salvaged, and
    nothing is ordered once even the shortest lead time ends past the horizon, nor in the
    last ``stop_periods`` periods (the rules' ``order_stop_periods``).
    """
    net = state.net
    cover = np.full(net.n_skus, cover_periods)
    left, lead = net.periods - state.period, order_lead(net, stop_periods)
    position = state.dc_on_hand + state.dc_on_order
    return COMPILED.supplier_order_share(state.forecast, cover, left, lead, position, net.max_order)
