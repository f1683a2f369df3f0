"""Order-up-to arithmetic shared by the base-stock rule, the ``targets``/``residual`` actions and the runtime.

One implementation of: forecast demand over a cover window, the order-up-to level,
a location's inventory position, rationing a request to the DC's stock (largest
remainder, ties to the lower index), making an allocation feasible, the supplier
order-up-to order, and the decode of a ``targets`` action into its parameters.
The base-stock rule (``allocsim.baselines``), the env's ``targets`` and ``residual``
action modes (``allocsim.envs.action_modes``) and the torch-free ONNX runtime
(``allocsim.agents.inference``) all call these, so a constant ``targets`` action equal
to the rule's parameters gives the rule's decisions to the unit. Imports numpy only
(vectorised numpy, not compiled: it runs once per decision, outside the engine; every
function takes leading batch axes, so the vector env decodes all its copies in one call).
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
# Every function takes optional leading batch axes ([B, ...]): the single env, the rules and the
# runtime call them on one state, the vector env on all its copies at once (the same arithmetic).
def cover_demand(forecast: FloatArray, periods: FloatArray) -> FloatArray:
    """Forecast units ([B,] L, S) over the next ``periods`` ([B,] L, S) periods each (fractional ok).

    ``forecast`` ([B,] H, L, S) is the rate per period from now on; beyond its horizon the
    horizon's mean rate is assumed.
    """
    horizon = forecast.shape[-3]
    lead = forecast.shape[:-3]
    span = np.broadcast_to(np.asarray(periods, dtype=np.float64), (*lead, *forecast.shape[-2:]))
    inside = np.minimum(span, horizon)
    whole = np.floor(inside).astype(np.int64)
    part = inside - whole
    nxt = np.minimum(whole + 1, horizon)
    beyond = bool((span > horizon).any())
    # only the periods some window reaches are summed (a prefix of the running sum is the same numbers)
    need = horizon if beyond else int(nxt.max(initial=0))
    cum = np.concatenate([np.zeros((*lead, 1, *forecast.shape[-2:])),
                          np.cumsum(forecast[..., :need, :, :], axis=-3)], axis=-3)
    at_whole = np.take_along_axis(cum, whole[..., None, :, :], axis=-3)[..., 0, :, :]
    at_next = np.take_along_axis(cum, nxt[..., None, :, :], axis=-3)[..., 0, :, :]
    within = at_whole + part * (at_next - at_whole)
    if not beyond:
        return within
    rate = cum[..., -1, :, :] / max(horizon, 1)
    return within + np.maximum(span - horizon, 0.0) * rate


def window_demand(forecast: FloatArray, periods: FloatArray | float) -> FloatArray:
    """Forecast units ([B,] L, S) over the next ``periods`` (scalar or per location ([B,] L))."""
    return cover_demand(forecast, np.asarray(periods, dtype=np.float64)[..., None])


def order_up_to_levels(forecast: FloatArray, cover: FloatArray, safety: FloatArray | float) -> FloatArray:
    """Order-up-to level ([B,] L, S): demand over ``cover`` ([B,] L, S) periods + ``safety`` ([B,] S)
    (or one number) x its square root."""
    window = cover_demand(forecast, cover)
    factor = np.asarray(safety, dtype=np.float64)
    return window + (factor[..., None, :] if factor.ndim else factor) * np.sqrt(window)


def inventory_position(on_hand: IntArray, inbound: IntArray, backlog: IntArray) -> FloatArray:
    """Location inventory position ([B,] L, S): on hand + in transit - backorders waiting (all channels)."""
    return (on_hand + inbound - backlog).astype(np.float64)


# ------------------------------------------------------------------ whole units
def round_columns(amount: FloatArray, totals: IntArray) -> IntArray:
    """Integers ([B,] L, S) from ``amount`` whose column sums are ``totals`` ([B,] S) (largest remainder)."""
    base = np.floor(amount).astype(np.int64)
    short = np.maximum(totals - base.sum(axis=-2), 0)
    if not short.any():
        return base
    order = np.argsort(base - amount, axis=-2, kind="stable")  # biggest remainder first, ties: lower index
    ranks = np.argsort(order, axis=-2, kind="stable")  # each row's place in that order
    return base + (ranks < short[..., None, :])


def ration(request: FloatArray, available: IntArray) -> IntArray:
    """Whole units: the request where stock suffices, else shares proportional to the request."""
    want = np.maximum(np.ceil(request - 1e-9), 0.0)
    total = want.sum(axis=-2)
    factor = np.where(total > available, available / np.maximum(total, 1.0), 1.0)
    return round_columns(want * factor[..., None, :], np.minimum(total, available).astype(np.int64))


def feasible_allocation(
    alloc: IntArray, available: IntArray, supply_room: IntArray | None, headroom: IntArray
) -> IntArray:
    """Cut an allocation ([B,] L, S) to the supply room, ``available`` ([B,] S) and ``headroom`` ([B,] L).

    Rationing and capacity cuts are by largest remainder (the capacity cut is
    ``cut_to_capacity``), so a rule's proposal is already feasible when the env's guardrails
    see it (they then change nothing).
    Rationing leaves a column within its stock unchanged, and the capacity cut a row
    within its headroom, so a batch gives each copy what it alone would get.
    """
    alloc = np.maximum(np.asarray(alloc, dtype=np.int64), 0)
    if supply_room is not None:
        alloc = np.minimum(alloc, supply_room)
    if (alloc.sum(axis=-2) > available).any():
        alloc = ration(alloc.astype(np.float64), available)
    return cut_to_capacity(alloc, headroom)


def cut_to_capacity(alloc: IntArray, headroom: IntArray) -> IntArray:
    """``alloc`` ([B,] L, S) with every location over its ``headroom`` ([B,] L) cut to it exactly.

    The batch form of ``allocsim.core.unit_decode.cut_rows`` (the one capacity cut, by largest
    remainder), with the same floating-point operations in the same order, so every copy gets
    bit for bit what ``cut_rows`` gives it (a test holds them together); numpy, not a loop, because
    the vector env and rollouts cut hundreds of copies per period.
    """
    alloc = np.asarray(alloc, dtype=np.int64)
    cap = np.maximum(np.broadcast_to(np.asarray(headroom, dtype=np.int64), alloc.shape[:-1]), 0)
    rows = alloc.sum(axis=-1)
    over = rows > cap
    if not over.any():
        return alloc
    quota = alloc * (cap / np.maximum(rows, 1))[..., None]  # cut_rows: units x (cap / row)
    cut = np.swapaxes(round_columns(np.swapaxes(quota, -1, -2), cap), -1, -2)
    return np.where(over[..., None], cut, alloc)


def supplier_order_share(
    forecast: FloatArray, cover: FloatArray, left: IntArray | int, lead: tuple[int, float],
    dc_position: IntArray, max_order: IntArray,
) -> FloatArray:
    """Order block ([B,] S): raise the DC position to network demand over mean lead + ``cover`` ([B,] S).

    ``lead`` is the supplier's (shortest, mean) lead time. The window is cut to the
    ``left`` ([B]) periods of the horizon, and nothing is ordered once even the shortest lead
    time ends past it. The share is of ``max_order`` (0 where it is 0).
    """
    shortest, mean = lead
    left_f = np.asarray(left, dtype=np.float64)[..., None]
    window = np.minimum(mean + np.asarray(cover, dtype=np.float64), left_f)
    target = cover_demand(forecast, window[..., None, :]).sum(axis=-2)
    order = np.clip(np.ceil(target - dc_position), 0.0, max_order)
    share = np.where(max_order > 0, order / np.maximum(max_order, 1), 0.0)
    return np.where(left_f <= shortest, 0.0, share)


# ------------------------------------------------------------- targets actions
@dataclass(frozen=True)
class TargetParams:
    """The parameters a ``targets`` action sets for one period."""

    cover: FloatArray  # ([B,] L, S) periods of forecast cover in the order-up-to level
    safety: FloatArray  # ([B,] S) safety stock in standard deviations (sqrt of the window's demand)
    keep: FloatArray  # ([B,] S) share of available DC stock kept back from allocation
    order_cover: FloatArray  # ([B,] S) periods beyond the mean supplier lead (0: policy does not order)


@dataclass(frozen=True)
class TargetRanges:
    """Per action entry: parameter = clip(centre + action x half, low, high), snapped to 1/GRID."""

    centre: FloatArray
    half: FloatArray
    low: FloatArray
    high: FloatArray

    def parameters(self, action: FloatArray, n_locations: int, n_skus: int) -> TargetParams:
        """The parameters of clipped actions ([B,] n): blocks cover (L x S), safety, keep[, order cover]."""
        raw = np.clip(self.centre + np.asarray(action, dtype=np.float64) * self.half, self.low, self.high)
        values = np.round(raw * GRID) / GRID
        lead, cells = values.shape[:-1], n_locations * n_skus
        cover = values[..., :cells].reshape(*lead, n_locations, n_skus)
        safety, keep = values[..., cells : cells + n_skus], values[..., cells + n_skus : cells + 2 * n_skus]
        order = values[..., cells + 2 * n_skus :]
        return TargetParams(cover, safety, keep, order if order.shape[-1] else np.zeros((*lead, n_skus)))

    def action_for(self, values: FloatArray) -> FloatArray:
        """The action (n,) whose parameters are ``values`` (within the ranges): inverse of ``parameters``."""
        return np.where(self.half > 0, (np.asarray(values, dtype=np.float64) - self.centre)
                        / np.where(self.half > 0, self.half, 1.0), 0.0)


def target_allocation(
    params: TargetParams, forecast: FloatArray, position: FloatArray, available: IntArray,
    supply_room: IntArray | None = None, headroom: IntArray | None = None,
) -> IntArray:
    """Units ([B,] L, S): order-up-to level minus ``position``, rationed to the stock not kept back.

    With ``headroom`` ([B,] L) the result is also cut to the guardrails' room
    (``feasible_allocation``), as a rule cuts its own proposal.
    """
    request = order_up_to_levels(forecast, params.cover, params.safety) - position
    free = available - np.floor(params.keep * available).astype(np.int64)
    alloc = ration(request, free)
    return alloc if headroom is None else feasible_allocation(alloc, free, supply_room, headroom)
