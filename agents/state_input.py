"""The JSON state a planning system hands to an exported policy: validated, then turned into an observation.

Schema (names are the scenario's; quantities in units, forecasts in units per period)::

    {
      "period": 12,                                   # 0 .. periods - 1
      "dc": {"on_hand": {"<sku>": 120, ...},          # every SKU
             "on_order": {"<sku>": 40}},              # optional, missing SKUs are 0
      "locations": {
        "<location>": {                               # every location
          "on_hand":  {"<sku>": 5, ...},              # every SKU
          "forecast": {"<sku>": [3.2, 3.0, ...]},     # every SKU, forecast_horizon values from now on
          "inbound":  {"<sku>": 10},                  # optional: in transit to the location
          "backlog":  {"<sku>": 0},                   # optional: backorders waiting
          "open_orders": {"<sku>": 4},                # optional: orders already known
          "avg_age":  {"<sku>": 1.5},                 # optional: mean age of the stock, periods
          "known_orders": {"<sku>": [4, 0, 2]}        # optional, policies with that block: orders known
        }, ...                                        # for periods t, t + 1, ... (up to its depth)
      }
    }

Every problem is one ``StateError`` line naming the path, e.g.
``locations.store-1.on_hand.A: must be a whole number >= 0 (got -3)``. Imports numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from allocsim.agents.policy_card import PolicyCard
from allocsim.core.error_text import shorten, show
from allocsim.core.observation_blocks import exogenous_rows, known_order_values, write_observation
from allocsim.core.unit_decode import available_to_allocate

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

LOCATION_REQUIRED = ("on_hand", "forecast")
LOCATION_OPTIONAL = ("inbound", "backlog", "open_orders", "avg_age")
KNOWN_ORDERS = "known_orders"  # the opt-in block's field: one list per SKU, periods t, t + 1, ...


class StateError(ValueError):
    """A state that does not fit the policy's scenario; the message names the path and the value."""


@dataclass(frozen=True)
class PlanningState:
    """A validated state as arrays in the card's axis order."""

    period: int
    dc_on_hand: IntArray  # (S,)
    dc_on_order: IntArray  # (S,)
    on_hand: IntArray  # (L, S)
    inbound: IntArray  # (L, S)
    backlog: IntArray  # (L, S)
    open_orders: FloatArray  # (L, S)
    avg_age: FloatArray  # (L, S)
    forecast: FloatArray  # (H, L, S)
    known_orders: FloatArray | None = None  # (D, L, S) for a policy with the known_orders block, else None

    def dc_available(self, card: PolicyCard) -> IntArray:
        return available_to_allocate(self.dc_on_hand, np.asarray(card.safety_reserve, dtype=np.int64))


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StateError(f"{where}: must be an object, got {type(value).__name__}")
    return value


#: the most units (or units per period) a state may hold: a scenario never lets more than 1e12 units
#: of a SKU into its network (``allocsim.core.limits.MAX_NETWORK_UNITS``), and up to it the
#: largest-remainder split of whole units is exact in float64
MAX_QUANTITY = 10**12


def _show(value: Any) -> str:
    """A bad value for a message: objects and lists by their kind, the rest shortened."""
    return f"a {type(value).__name__}" if isinstance(value, dict | list) else show(value)


def _key(name: str) -> str:
    """A JSON key as a path part, shortened."""
    return shorten(name)


def _number(value: Any, where: str, whole: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateError(f"{where}: must be a finite number (got {_show(value)})")
    if not math.isfinite(value) or abs(value) > MAX_QUANTITY:
        raise StateError(f"{where}: must be a finite number up to 1e12 (got {_show(value)})")
    if value < 0 or (whole and value != int(value)):
        kind = "a whole number >= 0" if whole else "a number >= 0"
        raise StateError(f"{where}: must be {kind} (got {value!r})")
    return float(value)


def _check_skus(block: Mapping[str, Any], skus: list[str], where: str, complete: bool) -> None:
    """Unknown SKUs refused; missing ones refused when ``complete``."""
    for sku in block:
        if sku not in skus:
            raise StateError(f"{where}.{_key(sku)}: unknown SKU; valid: {', '.join(skus)}")
    if complete:
        missing = [s for s in skus if s not in block]
        if missing:
            raise StateError(f"{where}: missing SKU {missing[0]!r} (every SKU is required)")


def _by_sku(block: Mapping[str, Any], skus: list[str], where: str, whole: bool, complete: bool) -> FloatArray:
    """One value per SKU (missing ones 0 unless ``complete``)."""
    _check_skus(block, skus, where, complete)
    return np.array([_number(block.get(s, 0), f"{where}.{s}", whole) for s in skus])


def _forecast(block: Mapping[str, Any], card: PolicyCard, where: str) -> FloatArray:
    """(H, S): every SKU, exactly ``forecast_horizon`` values."""
    horizon = card.forecast_horizon
    _check_skus(block, card.skus, where, complete=True)
    out = np.zeros((horizon, card.n_skus))
    for j, sku in enumerate(card.skus):
        values = block[sku]
        if not isinstance(values, list) or len(values) != horizon:
            got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
            raise StateError(f"{where}.{sku}: must be a list of {horizon} forecast values (got {got})")
        out[:, j] = [_number(v, f"{where}.{sku}.{i}", whole=False) for i, v in enumerate(values)]
    return out


def _known_orders(block: Mapping[str, Any], card: PolicyCard, where: str) -> FloatArray:
    """(D, S): per SKU up to ``known_orders_depth`` orders known for periods t, t + 1, ... (the rest 0)."""
    depth = card.known_orders_depth
    _check_skus(block, card.skus, where, complete=False)
    out = np.zeros((depth, card.n_skus))
    for j, sku in enumerate(card.skus):
        values = block.get(sku, [])
        if not isinstance(values, list) or len(values) > depth:
            got = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
            raise StateError(f"{where}.{sku}: must be a list of at most {depth} values (got {got})")
        out[:len(values), j] = [_number(v, f"{where}.{sku}.{i}", whole=False) for i, v in enumerate(values)]
    return out


def parse_state(data: Any, card: PolicyCard) -> PlanningState:
    """Validate a decoded JSON state against the policy's scenario; StateError on the first problem."""
    root = _mapping(data, "state")
    for key in root:
        if key not in ("period", "dc", "locations"):
            raise StateError(f"{_key(key)}: unknown field; valid: period, dc, locations")
    for key in ("period", "dc", "locations"):
        if key not in root:
            raise StateError(f"{key}: missing field")
    period = root["period"]
    if isinstance(period, bool) or not isinstance(period, int) or not 0 <= period < card.periods:
        raise StateError(f"period: must be a whole number in 0..{card.periods - 1} (got {_show(period)})")
    dc = _mapping(root["dc"], "dc")
    for key in dc:
        if key not in ("on_hand", "on_order"):
            raise StateError(f"dc.{_key(key)}: unknown field; valid: on_hand, on_order")
    if "on_hand" not in dc:
        raise StateError("dc.on_hand: missing field")
    skus = card.skus
    dc_on_hand = _by_sku(_mapping(dc["on_hand"], "dc.on_hand"), skus, "dc.on_hand", True, True)
    dc_on_order = _by_sku(_mapping(dc.get("on_order", {}), "dc.on_order"), skus, "dc.on_order", True, False)

    locations = _mapping(root["locations"], "locations")
    for name in locations:
        if name not in card.locations:
            raise StateError(f"locations.{_key(name)}: unknown location; valid: {', '.join(card.locations)}")
    shape = (card.n_locations, card.n_skus)
    blocks = {key: np.zeros(shape) for key in ("on_hand", *LOCATION_OPTIONAL)}
    forecast = np.zeros((card.forecast_horizon, *shape))
    depth = card.known_orders_depth
    fields = (*LOCATION_REQUIRED, *LOCATION_OPTIONAL, *((KNOWN_ORDERS,) if depth else ()))
    known = np.zeros((depth, *shape))
    for i, name in enumerate(card.locations):
        where = f"locations.{name}"
        if name not in locations:
            raise StateError(f"{where}: missing location (every location is required)")
        loc = _mapping(locations[name], where)
        for key in loc:
            if key not in fields:
                raise StateError(f"{where}.{_key(key)}: unknown field; valid: {', '.join(fields)}")
        if depth:
            known[:, i, :] = _known_orders(_mapping(loc.get(KNOWN_ORDERS, {}), f"{where}.{KNOWN_ORDERS}"),
                                           card, f"{where}.{KNOWN_ORDERS}")
        for key in LOCATION_REQUIRED:
            if key not in loc:
                raise StateError(f"{where}.{key}: missing field")
        block = _mapping(loc["forecast"], f"{where}.forecast")
        forecast[:, i, :] = _forecast(block, card, f"{where}.forecast")
        for key in ("on_hand", *LOCATION_OPTIONAL):
            whole = key in ("on_hand", "inbound", "backlog")
            block = _mapping(loc.get(key, {}), f"{where}.{key}")
            blocks[key][i] = _by_sku(block, skus, f"{where}.{key}", whole, complete=key == "on_hand")
    return PlanningState(
        period=period,
        dc_on_hand=dc_on_hand.astype(np.int64),
        dc_on_order=dc_on_order.astype(np.int64),
        on_hand=blocks["on_hand"].astype(np.int64),
        inbound=blocks["inbound"].astype(np.int64),
        backlog=blocks["backlog"].astype(np.int64),
        open_orders=blocks["open_orders"],
        avg_age=blocks["avg_age"],
        forecast=forecast,
        known_orders=known if depth else None,
    )


def observation(state: PlanningState, card: PolicyCard) -> NDArray[np.float32]:
    """The flat observation the env would show in this state: the env's own block arithmetic."""
    loc_scale = np.asarray(card.location_scale, dtype=np.float64)
    exogenous = exogenous_rows(
        state.forecast[:1], state.forecast.mean(axis=0)[None], state.open_orders[None],
        np.array([float(state.period)]), card.periods, loc_scale,
    )[0]
    out = np.zeros(card.observation_size, dtype=np.float32)
    write_observation(
        out, state.dc_on_hand, state.dc_available(card), state.dc_on_order,
        1.0 / np.asarray(card.dc_scale, dtype=np.float64), state.on_hand, state.inbound, state.backlog,
        state.avg_age, 1.0 / loc_scale, 1.0 / max(card.age_buckets - 1, 1), exogenous,
    )
    depth = card.known_orders_depth
    if depth:  # the opt-in block, last (allocsim.envs.observation)
        known = state.known_orders if state.known_orders is not None else np.zeros((depth, *loc_scale.shape))
        out[out.shape[0] - known.size:] = known_order_values(known, loc_scale)
    return out
