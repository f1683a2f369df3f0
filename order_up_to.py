"""Order-up-to arithmetic shared by the base-stock rule, the ``targets``/``residual`` actions and the runtime.

One implementation of: forecast demand over a cover window, the order-up-to level,
a location's inventory position, rationing a request to the DC's stock (largest
remainder, ties to the lower index), making an allocation feasible, the supplier
order-up-to order, and the decode of a ``targets`` action into its parameters.
The base-stock rule (``allocsim.baselines``), the env's ``targets`` and ``residual``
action modes (``allocsim.envs.action_modes``) and the torch-free ONNX runtime
(``allocsim.agents.inference``) all call these, so a constant ``targets`` action equal
to the rule's parameters gives the rule's decisions to the unit. Imports numpy only
(vectorised numpy, not compiled: it runs once per decision, outside the engine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: decoded ``targets`` parameters are multiples of 1/GRID (periods, standard deviations, shares), so a
#: float32 action that encodes a parameter on the grid decodes to it exactly (the tuned grids are on it)
GRID = 1024.0


# ------------------------------------------------------------------ demand windows
def cover_demand(forecast: FloatArray, periods: FloatArray) -> FloatArray:
    """Forecast units (L, S) over the next ``periods`` (L, S) periods each (fractional ok).

    ``forecast`` (H, L, S) is the rate per period from now on; beyond its horizon the
    horizon's mean rate is assumed.
    """
    horizon = forecast.shape[0]
    span = np.broadcast_to(np.asarray(periods, dtype=np.float64), forecast.shape[1:])
    cum = np.concatenate([np.zeros((1, *forecast.shape[1:])), np.cumsum(forecast, axis=0)])
    inside = np.minimum(span, horizon)
    whole = np.floor(inside).astype(np.int64)
    part = inside - whole
    nxt = np.minimum(whole + 1, horizon)
    at_whole = np.take_along_axis(cum, whole[None], axis=0)[0]
    at_next = np.take_along_axis(cum, nxt[None], axis=0)[0]
    within = at_whole + part * (at_next - at_whole)
    rate = cum[-1] / max(horizon, 1)
    return within + np.maximum(span - horizon, 0.0) * rate


def window_demand(forecast: FloatArray, periods: FloatArray | float) -> FloatArray:
    """Forecast units (L, S) over the next ``periods`` (scalar or per location (L,))."""
    n_l = forecast.shape[1]
    span = np.broadcast_to(np.asarray(periods, dtype=np.float64), (n_l,))
    return cover_demand(forecast, np.broadcast_to(span[:, None], forecast.shape[1:]))


def order_up_to_levels(forecast: FloatArray, cover: FloatArray, safety: FloatArray | float) -> FloatArray:
    """Order-up-to level (L, S): demand over ``cover`` (L, S) periods + ``safety`` (S,) x its square root."""
    window = cover_demand(forecast, cover)
    return window + np.asarray(safety, dtype=np.float64) * np.sqrt(window)


def inventory_position(on_hand: IntArray, inbound: IntArray, backlog: IntArray) -> FloatArray:
    """Location inventory position (L, S): on hand + in transit - backorders waiting (all channels)."""
    return (on_hand + inbound - backlog).astype(np.float64)


# ------------------------------------------------------------------ whole units
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


def ration(request: FloatArray, available: IntArray) -> IntArray:
    """Whole units: the request where stock suffices, else shares proportional to the request."""
    want = np.maximum(np.ceil(request - 1e-9), 0.0)
    total = want.sum(axis=0)
    factor = np.where(total > available, available / np.maximum(total, 1.0), 1.0)
    return round_columns(want * factor[None, :], np.minimum(total, available).astype(np.int64))


def feasible_allocation(
    alloc: IntArray, available: IntArray, supply_room: IntArray | None, headroom: IntArray
) -> IntArray:
    """Cut an allocation (L, S) to the days-of-supply room, ``available`` (S,) and ``headroom`` (L,).

    Rationing and capacity cuts are by largest remainder, so a rule's proposal is
    already feasible when the env's guardrails see it (they then change nothing).
    """
    alloc = np.maximum(np.asarray(alloc, dtype=np.int64), 0)
    if supply_room is not None:
        alloc = np.minimum(alloc, supply_room)
    if (alloc.sum(axis=0) > available).any():
        alloc = ration(alloc.astype(np.float64), available)
    rows = alloc.sum(axis=1)
    over = rows > headroom
    if over.any():
        scaled = alloc[over] * (headroom[over] / rows[over])[:, None]
        alloc = alloc.copy()
        alloc[over] = round_columns(scaled.T, headroom[over]).T
    return alloc


def supplier_order_share(
    forecast: FloatArray, cover: FloatArray, left: int, lead: tuple[int, float], dc_position: IntArray,
    max_order: IntArray,
) -> FloatArray:
    """Order block (S,): raise the DC position to network demand over mean lead + ``cover`` (S,) periods.

    ``lead`` is the supplier's (shortest, mean) lead time. The window is cut to the
    ``left`` periods of the horizon, and nothing is ordered once even the shortest lead
    time ends past it. The share is of ``max_order`` (0 where it is 0).
    """
    shortest, mean = lead
    if left <= shortest:
        return np.zeros(len(max_order))
    window = np.minimum(mean + np.asarray(cover, dtype=np.float64), float(left))
    target = cover_demand(forecast, np.broadcast_to(window[None, :], forecast.shape[1:])).sum(axis=0)
    order = np.clip(np.ceil(target - dc_position), 0.0, max_order)
    return np.where(max_order > 0, order / np.maximum(max_order, 1), 0.0)


# ------------------------------------------------------------- targets actions
@dataclass(frozen=True)
class TargetParams:
    """The parameters a ``targets`` action sets for one period."""

    cover: FloatArray  # (L, S) periods of forecast cover in the order-up-to level
    safety: FloatArray  # (S,) safety stock in standard deviations (sqrt of the window's demand)
    keep: FloatArray  # (S,) share of available DC stock kept back from allocation
    order_cover: FloatArray  # (S,) periods beyond the mean supplier lead (0: policy does not order)


@dataclass(frozen=True)
class TargetRanges:
    """Per action entry: parameter = clip(centre + action x half, low, high), snapped to 1/GRID."""

    centre: FloatArray
    half: FloatArray
    low: FloatArray
    high: FloatArray

    def parameters(self, action: FloatArray, n_locations: int, n_skus: int) -> TargetParams:
        """The parameters of one clipped action (n,): blocks cover (L x S), safety, keep[, order cover]."""
        raw = np.clip(self.centre + np.asarray(action, dtype=np.float64) * self.half, self.low, self.high)
        values = np.round(raw * GRID) / GRID
        cells = n_locations * n_skus
        cover = values[:cells].reshape(n_locations, n_skus)
        safety, keep = values[cells : cells + n_skus], values[cells + n_skus : cells + 2 * n_skus]
        order = values[cells + 2 * n_skus :]
        return TargetParams(cover, safety, keep, order if order.size else np.zeros(n_skus))

    def action_for(self, values: FloatArray) -> FloatArray:
        """The action (n,) whose parameters are ``values`` (within the ranges): inverse of ``parameters``."""
        return np.where(self.half > 0, (np.asarray(values, dtype=np.float64) - self.centre)
                        / np.where(self.half > 0, self.half, 1.0), 0.0)


def target_allocation(
    params: TargetParams, forecast: FloatArray, position: FloatArray, available: IntArray,
    supply_room: IntArray | None = None, headroom: IntArray | None = None,
) -> IntArray:
    """Units (L, S): order-up-to level minus ``position``, rationed to the stock not kept back.

    With ``headroom`` (L,) the result is also cut to the guardrails' room
    (``feasible_allocation``), as a rule cuts its own proposal.
    """
    request = order_up_to_levels(forecast, params.cover, params.safety) - position
    free = available - np.floor(params.keep * available).astype(np.int64)
    alloc = ration(request, free)
    return alloc if headroom is None else feasible_allocation(alloc, free, supply_room, headroom)
