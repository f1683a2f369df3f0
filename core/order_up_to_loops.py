"""Order-up-to arithmetic as loops over numpy arrays: the one implementation of each of its rules.

Demand over a cover window, the order-up-to level, rationing a request to the DC's stock
(largest remainder, ties to the lower index), making an allocation feasible (supply room,
stock, the capacity cut), the supplier order-up-to share, the fractions that decode to given
units and the decode of a ``targets`` action into its parameters. Plain Python written so that
numba compiles it unchanged, as ``allocsim.core.unit_decode``: the engine
(``allocsim.envs.engine.targets``) compiles these functions for the vector env, rollouts, the
rules and the env's ``targets``/``residual`` modes, and the torch-free runtime runs them as they
are (one decision at a time), both through ``allocsim.core.order_up_to.OrderUpTo``. Scratch
arrays are arguments, so a compiled caller allocates nothing. A forecast is a ring ``ring``
(B, H', L, S) read at ``slots`` (H,): period ``h`` from now of copy ``b`` is ``ring[b, slots[h]]``
(the engine's forecast ring; an ordered forecast has ``slots = arange(H)``). Imports numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from allocsim.core.unit_decode import cut_rows, round_to_total

#: decoded ``targets`` parameters are multiples of 1/GRID (periods, standard deviations, shares), so a
#: float32 action that encodes a parameter on the grid decodes to it exactly (the tuned grids are on it)
GRID = 1024.0


def maximum(a, b):  # type: ignore[no-untyped-def]
    """``numpy.maximum`` of two numbers (not NaN): ``b`` on a tie, so max(-0.0, 0.0) is 0.0 as numpy's."""
    return a if a > b else b


def minimum(a, b):  # type: ignore[no-untyped-def]
    """``numpy.minimum`` of two numbers (not NaN): ``b`` on a tie."""
    return a if a < b else b


# ------------------------------------------------------------------ targets actions
def target_parameters(actions, centre, half, low, high, out) -> None:  # type: ignore[no-untyped-def]
    """``out`` (B, n): each entry of the clipped ``targets`` actions (B, n) decoded to its parameter,
    ``clip(centre + action x half, low, high)`` snapped to the nearest 1/GRID (ties to even) with the
    ranges (n,) as ``numpy.clip`` then ``numpy.round`` do it (``maximum`` and ``minimum`` take the bound
    on a tie), so the loops give numpy's bits."""
    for b in range(out.shape[0]):
        for i in range(out.shape[1]):
            raw = minimum(maximum(centre[i] + actions[b, i] * half[i], low[i]), high[i])
            out[b, i] = np.rint(raw * GRID) / GRID


# ------------------------------------------------------------------ demand windows
def cover_window(ring, b, slots, loc, k, span) -> float:  # type: ignore[no-untyped-def]
    """Copy ``b``'s forecast units at (``loc``, ``k``) over the next ``span`` periods (fractional ok);
    beyond the forecast's horizon its mean rate is assumed."""
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


def cover_demands(ring, slots, span, out) -> None:  # type: ignore[no-untyped-def]
    """``out`` (B, L, S): every cell's ``cover_window`` over ``span`` (B, L, S) periods."""
    for b in range(out.shape[0]):
        for loc in range(out.shape[1]):
            for k in range(out.shape[2]):
                out[b, loc, k] = cover_window(ring, b, slots, loc, k, span[b, loc, k])


def target_request(ring, b, slots, cover, safety, position, request) -> None:  # type: ignore[no-untyped-def]
    """``request`` (L, S): the order-up-to level (demand over ``cover`` (L, S) periods + ``safety`` (S,)
    x its square root) minus the inventory ``position`` (L, S); ``position`` may be ``request``."""
    for loc in range(request.shape[0]):
        for k in range(request.shape[1]):
            window = cover_window(ring, b, slots, loc, k, cover[loc, k])
            level = window + safety[k] * np.sqrt(window)
            request[loc, k] = level - position[loc, k]


def target_requests(ring, slots, cover, safety, position, out) -> None:  # type: ignore[no-untyped-def]
    """``out`` (B, L, S): every copy's ``target_request`` of ``cover`` (B, L, S), ``safety`` (B, S) and
    ``position`` (B, L, S)."""
    for b in range(out.shape[0]):
        target_request(ring, b, slots, cover[b], safety[b], position[b], out[b])


def supplier_share(ring, b, slots, k, cover, left, lead_short, lead_mean, dc_position, max_order):  # type: ignore[no-untyped-def]
    """SKU ``k``'s order as a share of ``max_order``: raise ``dc_position`` (on hand + on order) to the
    network's demand over the mean lead + ``cover`` periods, cut to the ``left`` periods of the horizon;
    nothing once even the shortest lead time ends past it (0 where ``max_order`` is 0)."""
    window = minimum(lead_mean + cover, left)
    target = 0.0
    for loc in range(ring.shape[2]):
        target = cover_window(ring, b, slots, loc, k, window) if loc == 0 \
            else target + cover_window(ring, b, slots, loc, k, window)
    short = np.ceil(target - dc_position)
    amount = minimum(maximum(short, 0.0), float(max_order))
    share = amount / max(max_order, 1) if max_order > 0 else 0.0
    return 0.0 if left <= lead_short else share


# ------------------------------------------------------------------ whole units
def ration_column(want, available, out, order) -> None:  # type: ignore[no-untyped-def]
    """Whole units ``out`` (L,) for the request ``want`` (L,) (rounded up in place): the request where
    ``available`` suffices, else shares proportional to it by largest remainder; ``order`` scratch."""
    total = 0.0
    for loc in range(want.shape[0]):
        want[loc] = maximum(np.ceil(want[loc] - 1e-9), 0.0)
        total += want[loc]
    if total > available:
        factor = available / maximum(total, 1.0)
        for loc in range(want.shape[0]):
            want[loc] = want[loc] * factor
    round_to_total(want, int(minimum(total, float(available))), out, order)


def ration_over(alloc, k, available, col, units, order) -> None:  # type: ignore[no-untyped-def]
    """SKU ``k``'s column of ``alloc`` (L, S, at least 0) rationed to ``available`` where it asks for more
    (a column within its stock is what ``ration_column`` gives back unchanged); the rest is scratch."""
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


def ration_columns(request, available, out, col, units, order) -> None:  # type: ignore[no-untyped-def]
    """``out`` (B, L, S): every column of ``request`` (B, L, S) rationed to ``available`` (B, S)."""
    for b in range(out.shape[0]):
        for k in range(out.shape[2]):
            for loc in range(out.shape[1]):
                col[loc] = request[b, loc, k]
            ration_column(col, available[b, k], units, order)
            for loc in range(out.shape[1]):
                out[b, loc, k] = units[loc]


def round_columns(amount, totals, out, col, units, order) -> None:  # type: ignore[no-untyped-def]
    """``out`` (B, L, S): integers from ``amount`` (B, L, S) whose column sums are ``totals`` (B, S)
    (``round_to_total``: floors, one more unit to the largest remainders, ties to the lower index)."""
    for b in range(out.shape[0]):
        for k in range(out.shape[2]):
            for loc in range(out.shape[1]):
                col[loc] = amount[b, loc, k]
            round_to_total(col, totals[b, k], units, order)
            for loc in range(out.shape[1]):
                out[b, loc, k] = units[loc]


def feasible_cut(alloc, available, room, rooms, headroom, cut, col, col_units, col_order, row_share,  # type: ignore[no-untyped-def]
                 row_units, row_order) -> None:
    """``cut`` (L, S): ``alloc`` (L, S) (changed in place) made feasible: negatives to 0, cut to ``room``
    (L, S; only if ``rooms``), columns over ``available`` (S,) rationed, rows over ``headroom`` (L,) cut
    (``cut_rows``). The rest is scratch (L,) and (S,)."""
    for k in range(alloc.shape[1]):
        for loc in range(alloc.shape[0]):
            units = max(alloc[loc, k], 0)
            alloc[loc, k] = min(units, room[loc, k]) if rooms else units
        ration_over(alloc, k, available[k], col, col_units, col_order)
    cut_rows(alloc, headroom, cut, row_share, row_units, row_order)


def feasible_allocations(alloc, available, room, rooms, headroom, out, col, col_units, col_order,  # type: ignore[no-untyped-def]
                         row_share, row_units, row_order) -> None:
    """``out`` (B, L, S): every copy's ``feasible_cut`` of ``alloc`` (B, L, S, changed in place);
    ``room`` (B, L, S, or one row when not ``rooms``), ``available`` (B, S), ``headroom`` (B, L)."""
    for b in range(out.shape[0]):
        feasible_cut(alloc[b], available[b], room[b if rooms else 0], rooms, headroom[b], out[b], col,
                     col_units, col_order, row_share, row_units, row_order)


def cut_capacity(alloc, headroom, out, row_share, row_units, row_order) -> None:  # type: ignore[no-untyped-def]
    """``out`` (B, L, S): every copy's ``alloc`` (B, L, S) with rows over ``headroom`` (B, L) cut to it."""
    for b in range(out.shape[0]):
        cut_rows(alloc[b], headroom[b], out[b], row_share, row_units, row_order)


def target_units(request, free, room, rooms, headroom, alloc, cut, col, col_units, col_order, row_share,  # type: ignore[no-untyped-def]
                 row_units, row_order) -> None:
    """``cut`` (L, S): the ``request`` (L, S) rationed to the ``free`` (S,) stock (not kept back), then
    made feasible (``feasible_cut`` into ``alloc`` (L, S) int scratch)."""
    for k in range(request.shape[1]):
        for loc in range(request.shape[0]):
            col[loc] = request[loc, k]
        ration_column(col, free[k], col_units, col_order)
        for loc in range(request.shape[0]):
            alloc[loc, k] = col_units[loc]
    feasible_cut(alloc, free, room, rooms, headroom, cut, col, col_units, col_order, row_share, row_units,
                 row_order)


def free_stock(available, keep, free) -> None:  # type: ignore[no-untyped-def]
    """``free`` (S,): the ``available`` (S,) stock less the ``keep`` (S,) share kept back (floored)."""
    for k in range(free.shape[0]):
        free[k] = available[k] - int(np.floor(keep[k] * available[k]))


def target_allocations(cover, safety, keep, ring, slots, position, available, room, rooms, headroom,  # type: ignore[no-untyped-def]
                       out, request, alloc, free, col, col_units, col_order, row_share, row_units,
                       row_order) -> None:
    """``out`` (B, L, S): every copy's ``targets`` units: the order-up-to level of ``cover`` (P, L, S),
    ``safety`` (P, S) minus ``position`` (B, L, S), rationed to ``available`` (B, S) less the ``keep``
    (P, S) share, made feasible (``room``, ``headroom`` as ``feasible_allocations``); P = B or 1."""
    for b in range(out.shape[0]):
        p = b if cover.shape[0] > 1 else 0
        target_request(ring, b, slots, cover[p], safety[p], position[b], request)
        free_stock(available[b], keep[p], free)
        target_units(request, free, room[b if rooms else 0], rooms, headroom[b], alloc, out[b], col,
                     col_units, col_order, row_share, row_units, row_order)


def supplier_shares(ring, slots, cover, left, lead_short, lead_mean, dc_position, max_order, out) -> None:  # type: ignore[no-untyped-def]
    """``out`` (B, S): every copy's ``supplier_share`` of ``cover`` (B, S), ``left`` (B,), ``dc_position``
    (B, S), ``max_order`` (S,)."""
    for b in range(out.shape[0]):
        for k in range(out.shape[1]):
            out[b, k] = supplier_share(ring, b, slots, k, cover[b, k], float(left[b]), lead_short, lead_mean,
                                       dc_position[b, k], max_order[k])


def unit_shares(alloc, available, share, col, units, order) -> None:  # type: ignore[no-untyped-def]
    """``share`` (S, L + 1): the fractions that decode to exactly ``alloc`` (L, S, changed in place) cut to
    ``available`` (S,) (negatives to 0, columns over rationed); the units not allocated stay at the DC
    (last entry; 1 where nothing is available)."""
    n_l = alloc.shape[0]
    for k in range(alloc.shape[1]):
        avail = available[k]
        for loc in range(n_l):
            alloc[loc, k] = min(max(alloc[loc, k], 0), avail)
        ration_over(alloc, k, avail, col, units, order)
        sent = 0
        for loc in range(n_l):
            sent += alloc[loc, k]
            share[k, loc] = alloc[loc, k] / float(max(avail, 1))
        share[k, n_l] = 1.0 if avail == 0 else (avail - sent) / float(max(avail, 1))


def unit_share_rows(alloc, available, share, col, units, order) -> None:  # type: ignore[no-untyped-def]
    """``share`` (B, S, L + 1): every copy's ``unit_shares`` of ``alloc`` (B, L, S), ``available`` (B, S)."""
    for b in range(share.shape[0]):
        unit_shares(alloc[b], available[b], share[b], col, units, order)
