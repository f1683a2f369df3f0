"""Action modes: what the Box action of the env means (env argument ``action_mode``).

* ``shares`` (default): allocation weights, transfer and order shares
  (``allocsim.envs.actions``).
* ``targets``: per location and SKU an order-up-to level in periods of forecast cover,
  per SKU a safety factor, a DC keep-back share and (where the policy orders) a
  supplier cover. The shipment is the level minus the location's inventory position,
  rationed by largest remainder when the DC is short; the arithmetic is the base-stock
  rule's own (``allocsim.core.order_up_to``), so a constant action equal to the rule's
  parameters moves exactly the rule's units.
* ``residual``: the ``targets`` parameters as a bounded adjustment around the
  base-stock rule's parameters (``residual_around``); the zero action is the rule.

Every entry decodes as ``clip(centre + a x half, low, high)`` (``TargetRanges``), snapped
to 1/1024. A ``targets`` or ``residual`` decision is whole units, handed to the compiled decode as
the float64 fractions that give back exactly those units (``ActionLayout.unit_fractions``,
the path a rule's units take too), so the same decode and guardrails run for every mode.
Transfers stay at zero in ``targets`` and ``residual``. A batch (the vector env, rollouts' base
policies, DCL's actor) decodes all its copies in one compiled call (``allocsim.envs.engine.targets``),
bit for bit the same loops run uncompiled over the state as the single env reads it
(``TargetsMode.numpy_fractions``, the reference a test holds it to).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from allocsim.core.limits import MAX_PERIODS
from allocsim.core.order_up_to import PLAIN, OrderUpTo, TargetParams, TargetRanges, inventory_position
from allocsim.core.unit_decode import available_to_allocate
from allocsim.envs.actions import ActionLayout, Fractions, validate_flat, validate_rows
from allocsim.envs.engine.targets import COMPILED, decode_targets
from allocsim.envs.network import Network
from allocsim.envs.replenishment import order_lead
from allocsim.envs.state import AllocationState

if TYPE_CHECKING:
    from allocsim.envs.engine.core import BatchEngine

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Axis names of action blocks (``ActionMode.axes``): a location, a location or the DC (last), a lane, a SKU
BLOCK_AXES = ("location", "destination", "lane", "sku")

#: ``targets`` ranges: cover in [0, lead time + MAX_COVER_BEYOND_LEAD] periods, safety factor in
#: [0, MAX_SAFETY], keep-back share in [0, 1], supplier cover beyond the mean lead in [0, MAX_ORDER_COVER]
MAX_COVER_BEYOND_LEAD = 14.0
MAX_SAFETY = 4.0
MAX_ORDER_COVER = 14.0
#: ``residual`` half-widths around the rule: cover and supplier cover +-2 periods, safety +-1,
#: keep-back up to half the available stock (the negative half of its entry keeps nothing)
RESIDUAL_HALF = {"cover": 2.0, "safety": 1.0, "keep": 0.5, "order_cover": 2.0}


class ResidualCentre(BaseModel):
    """The base-stock parameters ``residual`` adjusts around (the defaults are the rule's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review_periods: float = Field(default=1.0, ge=0.0, le=MAX_COVER_BEYOND_LEAD)
    safety_factor: float = Field(default=2.5, ge=0.0, le=MAX_SAFETY)
    order_cover_periods: float = Field(default=3.0, ge=0.0, le=MAX_ORDER_COVER)
    order_stop_periods: float = Field(default=0.0, ge=0.0, le=MAX_PERIODS)


@dataclass(frozen=True)
class DecodeInputs:
    """What a ``targets`` decode reads from the state, for one copy or a batch ([B,] leading axes)."""

    forecast: FloatArray  # ([B,] H, L, S) forecast rates from now on
    position: FloatArray  # ([B,] L, S) inventory positions
    available: IntArray  # ([B,] S) DC stock available to allocate
    supply_room: IntArray | None  # ([B,] L, S) days-of-supply room, None without that guardrail
    headroom: IntArray  # ([B,] L) capacity headroom
    left: IntArray  # ([B]) periods left in the episode
    dc_position: IntArray  # ([B,] S) DC on hand + on order

    @classmethod
    def of(cls, engine: BatchEngine) -> DecodeInputs:
        """Every copy of ``engine`` now, read as ``AllocationState.of`` reads one copy."""
        net, state = engine.net, engine.state
        headroom, supply_room = engine.rooms()
        period = state.period.astype(np.int64)
        dc_on_hand = state.dc.sum(axis=-1)
        # by location and SKU over every other axis; exact (integers), and ~50x faster than numpy's sum here
        backlog = np.einsum("blsx->bls", state.backlog.reshape(*state.backlog.shape[:3], -1))
        return cls(
            forecast=state.forecast_window(),
            position=inventory_position(state.stock.sum(axis=-1), state.inbound, backlog),
            available=available_to_allocate(dc_on_hand, net.safety_reserve),
            supply_room=None if net.scenario.guardrails.max_days_of_supply is None else supply_room,
            headroom=headroom, left=net.periods - period, dc_position=dc_on_hand + state.on_order,
        )

    @classmethod
    def of_state(cls, state: AllocationState) -> DecodeInputs:
        """One copy, from the state a rule sees (the adapter and the guarded decision use it)."""
        return cls(
            forecast=state.forecast,
            position=inventory_position(state.on_hand, state.inbound, state.backlog.sum(axis=2)),
            available=state.dc_available, supply_room=state.supply_room, headroom=state.headroom,
            left=np.asarray(state.net.periods - state.period),
            dc_position=state.dc_on_hand + state.dc_on_order,
        )


class ActionMode(ABC):
    """The meaning of the env's Box action: its size, its blocks and its decode into fractions."""

    name: ClassVar[str]
    #: no supplier order in the last this many periods (0 unless a ``targets``/``residual`` mode has a stop)
    order_stop_periods: float = 0.0

    def __init__(self, net: Network) -> None:
        self.net = net
        self.shares = ActionLayout(net)

    @property
    @abstractmethod
    def size(self) -> int:
        """Entries of the flat action."""

    @abstractmethod
    def blocks(self) -> dict[str, tuple[int, int]]:
        """Block name -> [start, stop) in the flat action (for the policy card)."""

    @abstractmethod
    def axes(self) -> dict[str, tuple[str, ...]]:
        """Non-empty block name -> the axes of its row-major shape, in ``BLOCK_AXES`` names (the
        per-location, per-lane and per-network parts of the action: ``allocsim.agents.shared_layout``)."""

    @abstractmethod
    def fractions(self, engine: BatchEngine, actions: FloatArray) -> Fractions:
        """The compiled decode's fractions for validated actions (B, n) of ``engine``'s copies."""

    def ranges(self) -> TargetRanges | None:
        """The per-entry decode ranges (None for ``shares``)."""
        return None

    def constant(self, action: object) -> Callable[[BatchEngine], Fractions]:
        """The decision of one action ``action`` (n,) for every copy of an engine (a base policy's)."""
        return partial(self._for_all, self.validate(action))

    def _for_all(self, row: FloatArray, engine: BatchEngine) -> Fractions:
        return self.fractions(engine, np.broadcast_to(row, (engine.batch, self.size)))

    def validate(self, action: object) -> FloatArray:
        return validate_flat(action, self.size)

    def validate_batch(self, actions: object, copies: int) -> FloatArray:
        return validate_rows(actions, copies, self.size)


class SharesMode(ActionMode):
    """Today's action: allocation weights, transfer shares, order shares (``ActionLayout``)."""

    name = "shares"

    @property
    def size(self) -> int:
        return self.shares.size

    def blocks(self) -> dict[str, tuple[int, int]]:
        lay = self.shares
        named = (("allocation", lay.allocation), ("transfers", lay.transfers), ("orders", lay.orders),
                 ("holdback", lay.holdback))
        return {name: (block.start, block.stop) for name, block in named
                if name != "holdback" or block.stop > block.start}

    def axes(self) -> dict[str, tuple[str, ...]]:
        shapes = {"allocation": ("sku", "destination"), "transfers": ("lane", "sku"), "orders": ("sku",),
                  "holdback": ("location", "sku")}
        return {name: shapes[name] for name, (start, stop) in self.blocks().items() if stop > start}

    def fractions(self, engine: BatchEngine, actions: FloatArray) -> Fractions:
        return self.shares.fractions(actions)


class TargetsMode(ActionMode):
    """Order-up-to levels in periods of cover (+ safety, keep-back, supplier cover), decoded by ``ranges``."""

    name = "targets"

    def __init__(self, net: Network, ranges: TargetRanges | None = None,
                 order_stop_periods: float = 0.0) -> None:
        super().__init__(net)
        self._ranges = ranges if ranges is not None else target_ranges(net)
        #: no supplier order in the last this many periods (the centre rule's; a constant, not an entry)
        self.order_stop_periods = float(order_stop_periods)
        self.order_lead = order_lead(net, order_stop_periods)  # the (shortest, mean) lead orders plan with
        if self._ranges.centre.shape != (self._size(),):
            raise ValueError(f"action ranges have {self._ranges.centre.shape[0]} entries, this scenario's "
                             f"{self.name} action has {self._size()}")

    def _size(self) -> int:
        n_s = self.net.n_skus
        return self.net.n_locations * n_s + 2 * n_s + (n_s if self.net.policy_orders else 0)

    @property
    def size(self) -> int:
        return self._size()

    def ranges(self) -> TargetRanges:
        return self._ranges

    def blocks(self) -> dict[str, tuple[int, int]]:
        n_s, cells = self.net.n_skus, self.net.n_locations * self.net.n_skus
        out = {"cover": (0, cells), "safety": (cells, cells + n_s), "keep": (cells + n_s, cells + 2 * n_s)}
        if self.net.policy_orders:
            out["order_cover"] = (cells + 2 * n_s, cells + 3 * n_s)
        return out

    def axes(self) -> dict[str, tuple[str, ...]]:
        return {name: ("location", "sku") if name == "cover" else ("sku",) for name in self.blocks()}

    def parameters(self, action: FloatArray) -> TargetParams:
        """The order-up-to parameters of validated actions ([B,] n), by the compiled loops."""
        return self._ranges.parameters(action, self.net.n_locations, self.net.n_skus, COMPILED)

    def units(self, state: AllocationState, action: FloatArray) -> tuple[IntArray, FloatArray | None]:
        """Allocation (L, S), cut to the guardrails' room as a rule cuts it; order share (S,) or None."""
        return self._decode(DecodeInputs.of_state(state), action)

    def _decode(self, inputs: DecodeInputs, action: FloatArray, arithmetic: OrderUpTo = COMPILED,
                ) -> tuple[IntArray, FloatArray | None]:
        """Units and order shares of validated actions ([B,] n) in ``inputs`` (one arithmetic for both),
        by the compiled loops or (``arithmetic`` PLAIN) the same loops uncompiled."""
        net = self.net
        params = self._ranges.parameters(action, net.n_locations, net.n_skus, arithmetic)
        alloc = arithmetic.target_allocation(params, inputs.forecast, inputs.position, inputs.available,
                                             inputs.supply_room, inputs.headroom)
        orders = None
        if net.policy_orders:
            orders = arithmetic.supplier_order_share(inputs.forecast, params.order_cover, inputs.left,
                                                     self.order_lead, inputs.dc_position, net.max_order)
        return alloc, orders

    def shares_action(self, state: AllocationState, action: FloatArray) -> FloatArray:
        """The float64 ``shares`` action asking for this action's units in ``state`` (as a rule encodes)."""
        alloc, orders = self.units(state, action)
        return self.shares.encode(alloc, state.dc_available, None, orders)

    def fractions(self, engine: BatchEngine, actions: FloatArray) -> Fractions:
        """Every copy's units at once, handed to the compiled decode as the fractions that give back
        exactly those units (no action between): ``params_fractions`` of the actions' parameters."""
        return self.params_fractions(engine, self.parameters(actions))

    def params_fractions(self, engine: BatchEngine, params: TargetParams) -> Fractions:
        """``fractions`` of decoded parameters (leading axis B, or none: the same for every copy), by
        the compiled batch decode (``allocsim.envs.engine.targets``: ``numpy_fractions`` bit for bit)."""
        share, orders = decode_targets(engine, params, self.order_lead)
        return self._with_blocks(share, orders)

    def numpy_fractions(self, engine: BatchEngine, actions: FloatArray) -> Fractions:
        """``fractions`` over the batch axis from the state as the single env and the rules read it, by the
        order-up-to loops run uncompiled (``PLAIN``, the runtime's path): the reference the compiled
        batch decode is tested against (numba's arithmetic is the interpreter's, bit for bit)."""
        inputs = DecodeInputs.of(engine)
        alloc, orders = self._decode(inputs, actions, PLAIN)
        return self.shares.unit_fractions(alloc, inputs.available, None, orders, arithmetic=PLAIN)

    def _with_blocks(self, share: FloatArray, orders: FloatArray) -> Fractions:
        """Allocation fractions (B, S, L + 1) and order shares (B, S) with the blocks a ``targets`` action
        leaves at zero (transfers; a holdback where the scenario decides one), as ``unit_fractions``."""
        net, lead = self.net, share.shape[:1]
        holdback = None
        if self.shares.holdback.stop > self.shares.holdback.start:
            holdback = np.zeros((*lead, net.n_locations, net.n_skus))
        return Fractions(share, np.zeros((*lead, net.n_lanes, net.n_skus)), orders, holdback)

    def constant(self, action: object) -> Callable[[BatchEngine], Fractions]:
        """The decision of one action for every copy, its parameters decoded once (a base policy's)."""
        return partial(self.params_fractions, params=self.parameters(self.validate(action)))


class ResidualMode(TargetsMode):
    """``targets`` as a bounded adjustment around the base-stock rule; the zero action is the rule."""

    name = "residual"


def _cover_high(net: Network) -> FloatArray:
    """Highest cover per location and SKU (L x S, flat): lead time + ``MAX_COVER_BEYOND_LEAD``."""
    return np.repeat(net.lead_time.astype(np.float64) + MAX_COVER_BEYOND_LEAD, net.n_skus)


def _ranges(net: Network, centre: list[FloatArray], half: list[FloatArray]) -> TargetRanges:
    """Ranges from per-block centres and half-widths; low/high are the ``targets`` bounds."""
    n_s = net.n_skus
    high = [_cover_high(net), np.full(n_s, MAX_SAFETY), np.ones(n_s)]
    if net.policy_orders:
        high.append(np.full(n_s, MAX_ORDER_COVER))
    else:
        centre, half = centre[:3], half[:3]
    top = np.concatenate(high)
    return TargetRanges(np.concatenate(centre), np.concatenate(half), np.zeros_like(top), top)


def target_ranges(net: Network) -> TargetRanges:
    """``targets``: each parameter spans its range (keep-back: centre 0, so a <= 0 keeps nothing)."""
    n_s = net.n_skus
    cover = _cover_high(net) / 2
    centre = [cover, np.full(n_s, MAX_SAFETY / 2), np.zeros(n_s), np.full(n_s, MAX_ORDER_COVER / 2)]
    half = [cover, np.full(n_s, MAX_SAFETY / 2), np.ones(n_s), np.full(n_s, MAX_ORDER_COVER / 2)]
    return _ranges(net, centre, half)


def residual_ranges(net: Network, around: ResidualCentre) -> TargetRanges:
    """``residual``: centred on base-stock's parameters, +- ``RESIDUAL_HALF``, in the ``targets`` bounds."""
    n_s, cells = net.n_skus, net.n_locations * net.n_skus
    cover = np.repeat(net.lead_time.astype(np.float64) + around.review_periods, n_s)
    centre = [cover, np.full(n_s, around.safety_factor), np.zeros(n_s),
              np.full(n_s, around.order_cover_periods)]
    half = [np.full(cells, RESIDUAL_HALF["cover"]), np.full(n_s, RESIDUAL_HALF["safety"]),
            np.full(n_s, RESIDUAL_HALF["keep"]), np.full(n_s, RESIDUAL_HALF["order_cover"])]
    return _ranges(net, centre, half)


ACTION_MODES: dict[str, type[ActionMode]] = {
    mode.name: mode for mode in (SharesMode, TargetsMode, ResidualMode)
}


def mode_class(name: str) -> type[ActionMode]:
    """The class of action mode ``name``; ValueError naming a mode that is not one (the one check;
    callers say where the name came from)."""
    if name not in ACTION_MODES:
        raise ValueError(f"{str(name)[:80]!r} is not one of {', '.join(ACTION_MODES)}")
    return ACTION_MODES[name]


def _env_mode_class(name: str) -> type[ActionMode]:
    """``mode_class`` for the env's ``action_mode`` argument (the message names the argument)."""
    try:
        return mode_class(name)
    except ValueError as err:
        raise ValueError(f"action_mode {err}") from None


def make_action_mode(name: str, net: Network, residual_around: Mapping[str, Any] | None = None) -> ActionMode:
    """The mode ``name`` for ``net``; ValueError naming a bad mode or bad ``residual_around`` entry."""
    cls = _env_mode_class(name)
    if residual_around is not None and cls is not ResidualMode:
        raise ValueError(f"residual_around is only for action_mode 'residual', not {name!r}")
    if cls is not ResidualMode:
        return cls(net)  # type: ignore[call-arg]
    try:
        around = ResidualCentre(**dict(residual_around or {}))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        got = str(first.get("input"))[:80]
        raise ValueError(f"residual_around.{where}: {first['msg']} (got {got})") from None
    return ResidualMode(net, residual_ranges(net, around), around.order_stop_periods)


def mode_from_ranges(name: str, net: Network, ranges: TargetRanges | None,
                     order_stop_periods: float = 0.0) -> ActionMode:
    """A mode rebuilt from a policy card's ranges (exported policies carry them) and order stop."""
    cls = _env_mode_class(name)
    if cls is SharesMode:
        return SharesMode(net)
    if ranges is None:
        raise ValueError(f"action_mode {name!r} needs its decode ranges")
    return cls(net, ranges, order_stop_periods)  # type: ignore[call-arg]
