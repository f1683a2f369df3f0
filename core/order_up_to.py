"""Order-up-to arithmetic shared by the base-stock rule, the ``targets``/``residual`` actions and the runtime.

The numpy-facing calls (optional leading batch axes [B, ...]) of the one implementation in
``allocsim.core.order_up_to_loops``: forecast demand over a cover window, the order-up-to level,
rationing a request to the DC's stock (largest remainder, ties to the lower index), making an
allocation feasible, the supplier order-up-to order, the fractions that decode to given units,
and the decode of a ``targets`` action into its parameters. ``OrderUpTo`` runs those loops as
they are (``PLAIN``, and the module's functions: the torch-free ONNX runtime, one decision at a
time) or compiled by the engine (``allocsim.envs.engine.targets.COMPILED``: the rules, the env's
``targets`` and ``residual`` modes, the vector env and rollouts), so a constant ``targets`` action
equal to the base-stock rule's parameters gives the rule's decisions to the unit. Imports numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from allocsim.core import order_up_to_loops

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def inventory_position(on_hand: IntArray, inbound: IntArray, backlog: IntArray) -> FloatArray:
    """Location inventory position ([B,] L, S): on hand + in transit - backorders waiting (all channels)."""
    return (on_hand + inbound - backlog).astype(np.float64)


def _rows(values: Any, dtype: type, shape: tuple[int, ...]) -> NDArray[Any]:
    """``values`` broadcast to ``shape`` as one contiguous array of ``dtype`` (what a compiled loop takes)."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(values, dtype=dtype), shape))


class OrderUpTo:
    """The order-up-to calls over optional leading batch axes, run by the functions of ``loops``:
    ``allocsim.core.order_up_to_loops`` itself or the engine's kernels compiled from it.

    Each call hands the loops contiguous float64/int64 arrays with exactly one batch axis, so a
    compiled loop has one signature, and allocates their scratch.
    """

    def __init__(self, loops: Any) -> None:
        self.loops = loops

    @staticmethod
    def _scratch(n_l: int, n_s: int) -> tuple[NDArray[Any], ...]:
        """Scratch of ``feasible_cut``: (L,) float, int, int and (S,) float, int, int."""
        return (np.empty(n_l), np.empty(n_l, dtype=np.int64), np.empty(n_l, dtype=np.int64),
                np.empty(n_s), np.empty(n_s, dtype=np.int64), np.empty(n_s, dtype=np.int64))

    @staticmethod
    def _ring(forecast: FloatArray) -> tuple[FloatArray, IntArray, tuple[int, ...]]:
        """A forecast ([B,] H, L, S) as the loops' ring (B, H, L, S), its slots and the leading axes."""
        lead = forecast.shape[:-3]
        ring = _rows(forecast, np.float64, forecast.shape).reshape(-1, *forecast.shape[-3:])
        return ring, np.arange(forecast.shape[-3], dtype=np.int64), lead

    # -------------------------------------------------------------- demand windows
    def cover_demand(self, forecast: FloatArray, periods: FloatArray) -> FloatArray:
        """Forecast units ([B,] L, S) over the next ``periods`` ([B,] L, S) periods each (fractional ok).

        ``forecast`` ([B,] H, L, S) is the rate per period from now on; beyond its horizon the
        horizon's mean rate is assumed.
        """
        ring, slots, lead = self._ring(forecast)
        cells = forecast.shape[-2:]
        span = _rows(periods, np.float64, (*lead, *cells)).reshape(-1, *cells)
        out = np.empty(span.shape)
        self.loops.cover_demands(ring, slots, span, out)
        return out.reshape(*lead, *cells)

    def window_demand(self, forecast: FloatArray, periods: FloatArray | float) -> FloatArray:
        """Forecast units ([B,] L, S) over the next ``periods`` (scalar or per location ([B,] L))."""
        return self.cover_demand(forecast, np.asarray(periods, dtype=np.float64)[..., None])

    def order_up_to_levels(self, forecast: FloatArray, cover: FloatArray, safety: FloatArray | float,
                           ) -> FloatArray:
        """Order-up-to level ([B,] L, S): demand over ``cover`` ([B,] L, S) periods + ``safety`` ([B,] S)
        (or one number) x its square root."""
        ring, slots, lead = self._ring(forecast)
        n_l, n_s = forecast.shape[-2:]
        out = np.zeros((ring.shape[0], n_l, n_s))  # the position 0: the request is the level
        cover = _rows(cover, np.float64, (*lead, n_l, n_s)).reshape(out.shape)
        safety = _rows(safety, np.float64, (*lead, n_s)).reshape(-1, n_s)
        self.loops.target_requests(ring, slots, cover, safety, out, out)
        return out.reshape(*lead, n_l, n_s)

    # ----------------------------------------------------------------- whole units
    def round_columns(self, amount: FloatArray, totals: IntArray) -> IntArray:
        """Integers ([B,] L, S) from ``amount`` whose column sums are ``totals`` ([B,] S) (largest
        remainder; at most one unit above an entry's floor)."""
        n_l, n_s = amount.shape[-2:]
        rows = _rows(amount, np.float64, amount.shape).reshape(-1, n_l, n_s)
        out = np.empty(rows.shape, dtype=np.int64)
        totals = _rows(totals, np.int64, (*amount.shape[:-2], n_s)).reshape(-1, n_s)
        self.loops.round_columns(rows, totals, out, *self._scratch(n_l, n_s)[:3])
        return out.reshape(amount.shape)

    def ration(self, request: FloatArray, available: IntArray) -> IntArray:
        """Whole units: the request where stock suffices, else shares proportional to the request."""
        n_l, n_s = request.shape[-2:]
        rows = _rows(request, np.float64, request.shape).reshape(-1, n_l, n_s)
        out = np.empty(rows.shape, dtype=np.int64)
        avail = _rows(available, np.int64, (*request.shape[:-2], n_s)).reshape(-1, n_s)
        self.loops.ration_columns(rows, avail, out, *self._scratch(n_l, n_s)[:3])
        return out.reshape(request.shape)

    def feasible_allocation(self, alloc: IntArray, available: IntArray, supply_room: IntArray | None,
                            headroom: IntArray) -> IntArray:
        """Cut an allocation ([B,] L, S) to the supply room, ``available`` ([B,] S) and ``headroom`` ([B,] L).

        Negatives become 0, columns over their stock are rationed (a column within it is
        unchanged), rows over their headroom cut by largest remainder (``cut_rows``), so a
        rule's proposal is already feasible when the env's guardrails see it (they then
        change nothing), and a batch gives each copy what it alone would get.
        """
        alloc = np.asarray(alloc)
        lead, (n_l, n_s) = alloc.shape[:-2], alloc.shape[-2:]
        rows = np.array(alloc, dtype=np.int64, order="C").reshape(-1, n_l, n_s)  # a copy: cut in place
        rooms = supply_room is not None
        room = _rows(supply_room if rooms else 0, np.int64, (*lead, n_l, n_s) if rooms else (1, n_l, n_s))
        out = np.empty(rows.shape, dtype=np.int64)
        self.loops.feasible_allocations(rows, _rows(available, np.int64, (*lead, n_s)).reshape(-1, n_s),
                                        room.reshape(-1, n_l, n_s), rooms,
                                        _rows(headroom, np.int64, (*lead, n_l)).reshape(-1, n_l), out,
                                        *self._scratch(n_l, n_s))
        return out.reshape(alloc.shape)

    def cut_to_capacity(self, alloc: IntArray, headroom: IntArray) -> IntArray:
        """``alloc`` ([B,] L, S) with every location over its ``headroom`` ([B,] L) cut to it exactly
        (``allocsim.core.unit_decode.cut_rows``, the one capacity cut, copy by copy)."""
        alloc = np.asarray(alloc)
        lead, (n_l, n_s) = alloc.shape[:-2], alloc.shape[-2:]
        rows = _rows(alloc, np.int64, alloc.shape).reshape(-1, n_l, n_s)
        out = np.empty(rows.shape, dtype=np.int64)
        self.loops.cut_capacity(rows, _rows(headroom, np.int64, (*lead, n_l)).reshape(-1, n_l), out,
                                *self._scratch(n_l, n_s)[3:])
        return out.reshape(alloc.shape)

    def unit_shares(self, alloc: IntArray, available: IntArray) -> FloatArray:
        """Fractions ([B,] S, L + 1) that decode to exactly ``alloc`` ([B,] L, S) cut to ``available``
        ([B,] S) (columns over it rationed); units not allocated stay at the DC (last entry)."""
        alloc, available = np.asarray(alloc), np.asarray(available)
        lead, (n_l, n_s) = np.broadcast_shapes(alloc.shape[:-2], available.shape[:-1]), alloc.shape[-2:]
        rows = np.array(np.broadcast_to(alloc, (*lead, n_l, n_s)), dtype=np.int64, order="C")  # cut in place
        rows = rows.reshape(-1, n_l, n_s)
        share = np.empty((rows.shape[0], n_s, n_l + 1))
        self.loops.unit_share_rows(rows, _rows(available, np.int64, (*lead, n_s)).reshape(-1, n_s), share,
                                   *self._scratch(n_l, n_s)[:3])
        return share.reshape(*lead, n_s, n_l + 1)

    def supplier_order_share(
        self, forecast: FloatArray, cover: FloatArray, left: IntArray | int, lead: tuple[int, float],
        dc_position: IntArray, max_order: IntArray,
    ) -> FloatArray:
        """Order block ([B,] S): raise the DC position to network demand over mean lead + ``cover`` ([B,] S).

        ``lead`` is the supplier's (shortest, mean) lead time. The window is cut to the
        ``left`` ([B]) periods of the horizon, and nothing is ordered once even the shortest lead
        time ends past it. The share is of ``max_order`` (0 where it is 0).
        """
        ring, slots, batch = self._ring(forecast)
        n_s = forecast.shape[-1]
        out = np.empty((ring.shape[0], n_s))
        self.loops.supplier_shares(ring, slots, _rows(cover, np.float64, (*batch, n_s)).reshape(out.shape),
                                   _rows(left, np.int64, batch).reshape(-1), int(lead[0]), float(lead[1]),
                                   _rows(dc_position, np.int64, (*batch, n_s)).reshape(out.shape),
                                   _rows(max_order, np.int64, (n_s,)), out)
        return out.reshape(*batch, n_s)

    def target_allocation(
        self, params: TargetParams, forecast: FloatArray, position: FloatArray, available: IntArray,
        supply_room: IntArray | None = None, headroom: IntArray | None = None,
    ) -> IntArray:
        """Units ([B,] L, S): order-up-to level minus ``position``, rationed to the stock not kept back.

        With ``headroom`` ([B,] L) the result is also cut to the guardrails' room
        (``feasible_allocation``), as a rule cuts its own proposal.
        """
        ring, slots, lead = self._ring(forecast)
        n_l, n_s = forecast.shape[-2:]
        batch = ring.shape[0]
        rooms = supply_room is not None
        room = _rows(supply_room if rooms else 0, np.int64, (*lead, n_l, n_s) if rooms else (1, n_l, n_s))
        limit = _rows(np.iinfo(np.int64).max if headroom is None else headroom, np.int64, (*lead, n_l))
        out = np.empty((batch, n_l, n_s), dtype=np.int64)
        self.loops.target_allocations(
            _rows(params.cover, np.float64, (*lead, n_l, n_s)).reshape(-1, n_l, n_s),
            _rows(params.safety, np.float64, (*lead, n_s)).reshape(-1, n_s),
            _rows(params.keep, np.float64, (*lead, n_s)).reshape(-1, n_s), ring, slots,
            _rows(position, np.float64, (*lead, n_l, n_s)).reshape(-1, n_l, n_s),
            _rows(available, np.int64, (*lead, n_s)).reshape(-1, n_s), room.reshape(-1, n_l, n_s), rooms,
            limit.reshape(-1, n_l), out, np.empty((n_l, n_s)), np.empty((n_l, n_s), dtype=np.int64),
            np.empty(n_s, dtype=np.int64), *self._scratch(n_l, n_s))
        return out.reshape(*lead, n_l, n_s)

    # ------------------------------------------------------------- targets actions
    def target_values(self, ranges: TargetRanges, action: FloatArray) -> FloatArray:
        """The parameter of each entry of clipped ``targets`` actions ([B,] n) (``target_parameters``)."""
        action = np.asarray(action, dtype=np.float64)
        n = ranges.centre.shape[0]
        if action.shape[-1:] != (n,):
            raise ValueError(f"a targets action has {n} entries (its ranges'), got shape {action.shape}")
        rows = _rows(action, np.float64, action.shape).reshape(-1, n)
        out = np.empty(rows.shape)
        self.loops.target_parameters(rows, *(_rows(r, np.float64, (n,)) for r in
                                             (ranges.centre, ranges.half, ranges.low, ranges.high)), out)
        return out.reshape(action.shape)


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
    """Per action entry: parameter = clip(centre + action x half, low, high), snapped to 1/GRID
    (``order_up_to_loops.target_parameters``)."""

    centre: FloatArray
    half: FloatArray
    low: FloatArray
    high: FloatArray

    def parameters(self, action: FloatArray, n_locations: int, n_skus: int,
                   arithmetic: OrderUpTo | None = None) -> TargetParams:
        """The parameters of clipped actions ([B,] n): blocks cover (L x S), safety, keep[, order cover],
        by ``arithmetic`` (the loops as they are unless told: ``PLAIN``)."""
        values = (arithmetic or PLAIN).target_values(self, action)
        lead, cells = values.shape[:-1], n_locations * n_skus
        cover = values[..., :cells].reshape(*lead, n_locations, n_skus)
        safety, keep = values[..., cells : cells + n_skus], values[..., cells + n_skus : cells + 2 * n_skus]
        order = values[..., cells + 2 * n_skus :]
        return TargetParams(cover, safety, keep, order if order.shape[-1] else np.zeros((*lead, n_skus)))

    def action_for(self, values: FloatArray) -> FloatArray:
        """The action (n,) whose parameters are ``values`` (within the ranges): inverse of ``parameters``."""
        return np.where(self.half > 0, (np.asarray(values, dtype=np.float64) - self.centre)
                        / np.where(self.half > 0, self.half, 1.0), 0.0)


#: The loops run as they are (the runtime; the engine's compiled ones are ``envs.engine.targets.COMPILED``).
PLAIN = OrderUpTo(order_up_to_loops)
cover_demand = PLAIN.cover_demand
window_demand = PLAIN.window_demand
order_up_to_levels = PLAIN.order_up_to_levels
round_columns = PLAIN.round_columns
ration = PLAIN.ration
feasible_allocation = PLAIN.feasible_allocation
cut_to_capacity = PLAIN.cut_to_capacity
supplier_order_share = PLAIN.supplier_order_share
target_allocation = PLAIN.target_allocation


def stop_lead(lead: tuple[int, float], order_stop_periods: float) -> tuple[int, float]:
    """``lead`` (shortest, mean) as ``supplier_order_share`` plans with it under an order stop: no order
    in the last ``order_stop_periods`` periods (floored), nor where even the shortest lead ends too late."""
    return max(int(lead[0]), math.floor(order_stop_periods)), float(lead[1])
