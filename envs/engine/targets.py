"""The ``targets`` decode compiled for a whole batch: order-up-to parameters to fractions, in one call.

The arithmetic is the numpy decode's (``allocsim.envs.action_modes.TargetsMode`` over
``allocsim.core.order_up_to``: demand over the cover window, the order-up-to level, rationing to
the stock not kept back, the guardrails' cut, the supplier order, ``ActionLayout.unit_fractions``),
copy by copy with the same floating-point operations in the same order, so the fractions are
bit-identical to it (a test holds them together, as ``decode`` is held to the ``shares`` decode);
the rounding and the capacity cut are ``allocsim.core.unit_decode``'s own. Why: rollouts decide
with base-stock (a constant ``targets`` action) for hundreds of copies every period, and numpy's
passes over small arrays cost a third of a rollout. A kernel of its own, not part of
``kernels.run_copies``: compiled only where a batch decodes ``targets`` actions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.engine.decide import cut_rows, round_to_total
from allocsim.envs.engine.jit import inner_kernel, kernel

if TYPE_CHECKING:
    from allocsim.core.order_up_to import TargetParams
    from allocsim.envs.engine.core import BatchEngine

FloatArray = NDArray[np.float64]


@inner_kernel
def maximum(a, b):  # type: ignore[no-untyped-def]
    """``numpy.maximum`` of two numbers (not NaN): ``b`` on a tie, so max(-0.0, 0.0) is 0.0 as numpy's."""
    return a if a > b else b


@inner_kernel
def minimum(a, b):  # type: ignore[no-untyped-def]
    """``numpy.minimum`` of two numbers (not NaN): ``b`` on a tie."""
    return a if a < b else b


@inner_kernel
def cover_window(ring, b, slots, loc, k, span) -> float:  # type: ignore[no-untyped-def]
    """``order_up_to.cover_demand`` of one cell: copy ``b``'s forecast units at (``loc``, ``k``) over
    the next ``span`` periods, period ``h`` from now in ring slot ``slots[h]`` (``forecast_window``)."""
    horizon = slots.shape[0]
    inside = minimum(span, float(horizon))
    whole = math.floor(inside)
    part = inside - whole
    nxt = min(whole + 1, horizon)
    total = 0.0  # the running sum: cum[h + 1] after period h
    at_whole = 0.0
    for h in range(nxt):
        total += ring[b, slots[h], loc, k]
        if h + 1 == whole:
            at_whole = total
    within = at_whole + part * (total - at_whole)
    if span <= horizon:
        return within
    for h in range(nxt, horizon):
        total += ring[b, slots[h], loc, k]
    return within + (span - horizon) * (total / max(horizon, 1))


@inner_kernel
def ration_column(want, available, out, order) -> None:  # type: ignore[no-untyped-def]
    """``order_up_to.ration`` of one SKU: whole units ``out`` (L,) for the request ``want`` (L,) (rounded
    up in place) within ``available``; ``order`` (L,) is scratch."""
    total = 0.0
    for loc in range(want.shape[0]):
        want[loc] = maximum(np.ceil(want[loc] - 1e-9), 0.0)
        total += want[loc]
    if total > available:
        factor = available / maximum(total, 1.0)
        for loc in range(want.shape[0]):
            want[loc] = want[loc] * factor
    round_to_total(want, int(minimum(total, float(available))), out, order)


@inner_kernel
def ration_over(alloc, k, available, col, units, order) -> None:  # type: ignore[no-untyped-def]
    """SKU ``k``'s column of ``alloc`` (L, S) rationed to ``available`` where it asks for more (a column
    within its stock is what ``ration`` gives back unchanged); ``col``, ``units``, ``order`` (L,) scratch."""
    asked = 0
    for loc in range(alloc.shape[0]):
        asked += alloc[loc, k]
    if asked <= available:
        return
    for loc in range(alloc.shape[0]):
        col[loc] = float(alloc[loc, k])
    ration_column(col, available, units, order)
    for loc in range(alloc.shape[0]):
        alloc[loc, k] = units[loc]


@kernel
def targets_fractions(cover, safety, keep, order_cover, ring, period, on_hand, inbound, waiting,  # type: ignore[no-untyped-def]
                      dc_on_hand, on_order, reserve, headroom, supply_room, lead_short, lead_mean, periods,
                      max_order, orders, share_out, orders_out, request, alloc, cut, col, col_units,
                      col_order, row_share, row_units, row_order, slots) -> None:
    """Fractions ``share_out`` (B, S, L + 1) and ``orders_out`` (B, S) of every copy's ``targets`` parameters.

    Parameters ``cover`` (P, L, S), ``safety``, ``keep``, ``order_cover`` (P, S): P = B (a row per
    copy) or 1 (one action for all). The state's arrays are ``EngineState``'s; ``headroom`` (B, L) and
    ``supply_room`` (B, L, S, or 0 rows without that guardrail) are ``BatchEngine.rooms()``; the
    supplier order (``orders`` True) is ``order_up_to.supplier_order_share``. The rest is scratch:
    ``request`` (L, S) float, ``alloc``, ``cut`` (L, S) int, ``col`` (L,) float, ``col_units``,
    ``col_order`` (L,) int, ``row_share`` (S,) float, ``row_units``, ``row_order`` (S,) int, ``slots``
    (H,) int.
    """
    n_l, n_s = on_hand.shape[1], on_hand.shape[2]
    rooms = supply_room.shape[0] > 0
    for b in range(share_out.shape[0]):
        p = b if cover.shape[0] > 1 else 0
        t = period[b]
        for h in range(slots.shape[0]):
            slots[h] = (t + h) % slots.shape[0]
        # order-up-to level minus the inventory position (target_allocation's request)
        for loc in range(n_l):
            for k in range(n_s):
                window = cover_window(ring, b, slots, loc, k, cover[p, loc, k])
                level = window + safety[p, k] * np.sqrt(window)
                backlog = 0
                for c in range(waiting.shape[3]):
                    backlog += waiting[b, loc, k, c]
                request[loc, k] = level - float(on_hand[b, loc, k] + inbound[b, loc, k] - backlog)
        for k in range(n_s):
            avail = max(dc_on_hand[b, k] - reserve[k], 0)
            free = avail - int(np.floor(keep[p, k] * avail))
            for loc in range(n_l):
                col[loc] = request[loc, k]
            ration_column(col, free, col_units, col_order)
            for loc in range(n_l):  # feasible_allocation: the supply room, then the stock not kept back
                units = max(col_units[loc], 0)
                alloc[loc, k] = min(units, supply_room[b, loc, k]) if rooms else units
            ration_over(alloc, k, free, col, col_units, col_order)
        cut_rows(alloc, headroom[b], cut, row_share, row_units, row_order)
        for k in range(n_s):  # unit_fractions: cut to the DC's available stock, the rest stays at the DC
            avail = max(dc_on_hand[b, k] - reserve[k], 0)
            for loc in range(n_l):
                cut[loc, k] = min(max(cut[loc, k], 0), avail)
            ration_over(cut, k, avail, col, col_units, col_order)
            sent = 0
            for loc in range(n_l):
                sent += cut[loc, k]
                share_out[b, k, loc] = cut[loc, k] / float(max(avail, 1))
            share_out[b, k, n_l] = 1.0 if avail == 0 else (avail - sent) / float(max(avail, 1))
            orders_out[b, k] = 0.0
        if not orders:
            continue
        left = float(periods - t)
        for k in range(n_s):  # supplier_order_share, then clipped to [0, 1] as unit_fractions does
            window = minimum(lead_mean + order_cover[p, k], left)
            target = 0.0
            for loc in range(n_l):
                target = cover_window(ring, b, slots, loc, k, window) if loc == 0 \
                    else target + cover_window(ring, b, slots, loc, k, window)
            short = np.ceil(target - (dc_on_hand[b, k] + on_order[b, k]))
            amount = minimum(maximum(short, 0.0), float(max_order[k]))
            share = amount / max(max_order[k], 1) if max_order[k] > 0 else 0.0
            if left <= lead_short:
                share = 0.0
            # numpy.clip to scalar bounds (unit_fractions) moves only a value beyond a bound (-0.0 stays)
            orders_out[b, k] = 0.0 if share < 0.0 else (1.0 if share > 1.0 else share)


def decode_targets(engine: BatchEngine, params: TargetParams, lead: tuple[int, float]
                   ) -> tuple[FloatArray, FloatArray]:
    """(allocation fractions (B, S, L + 1), order shares (B, S)) of ``params`` (leading axis B or 1) for
    every copy of ``engine`` now; ``lead`` is the supplier's (shortest, mean) lead time."""
    net, state = engine.net, engine.state
    headroom, supply_room = engine.rooms()
    if net.scenario.guardrails.max_days_of_supply is None:
        supply_room = np.zeros((0, *supply_room.shape[1:]), dtype=np.int64)
    n_l, n_s = net.n_locations, net.n_skus
    share = np.empty((engine.batch, n_s, n_l + 1))
    orders = np.empty((engine.batch, n_s))
    rows = params.cover.reshape(-1, n_l, n_s).shape[0]

    def each(a: FloatArray, *shape: int) -> FloatArray:
        return np.ascontiguousarray(np.asarray(a, dtype=np.float64).reshape(rows, *shape))

    targets_fractions(
        each(params.cover, n_l, n_s), each(params.safety, n_s), each(params.keep, n_s),
        each(params.order_cover, n_s), state.forecast_ring, state.period, state.on_hand, state.inbound,
        state.waiting, state.dc_on_hand, state.on_order, net.safety_reserve, headroom,
        np.ascontiguousarray(supply_room, dtype=np.int64), int(lead[0]), float(lead[1]), int(net.periods),
        net.max_order, bool(net.policy_orders), share, orders, np.empty((n_l, n_s)),
        np.empty((n_l, n_s), dtype=np.int64), np.empty((n_l, n_s), dtype=np.int64), np.empty(n_l),
        np.empty(n_l, dtype=np.int64), np.empty(n_l, dtype=np.int64), np.empty(n_s),
        np.empty(n_s, dtype=np.int64), np.empty(n_s, dtype=np.int64),
        np.empty(state.forecast_ring.shape[1], dtype=np.int64))
    return share, orders
