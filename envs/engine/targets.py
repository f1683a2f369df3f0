"""The order-up-to loops compiled: the ``targets`` decode for a whole batch, and ``COMPILED``.

The arithmetic is ``allocsim.core.order_up_to_loops`` (demand over the cover window, the
order-up-to level, rationing to the stock not kept back, the guardrails' cut, the supplier
order, the unit fractions), compiled here unchanged, the rounding and the capacity cut being
``allocsim.core.unit_decode``'s own. ``targets_fractions`` reads every copy's state from the
engine and decodes it in one call: rollouts decide with base-stock (a constant ``targets``
action) for hundreds of copies every period, and numpy's passes over small arrays cost a
third of a rollout. ``COMPILED`` is ``allocsim.core.order_up_to.OrderUpTo`` over these kernels:
the numpy-facing calls the rules and the env's modes use. A kernel of its own, not part of
``kernels.run_copies``: compiled only where a batch decodes ``targets`` actions or a rule decides.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from allocsim.core import order_up_to_loops as loops
from allocsim.core.order_up_to import OrderUpTo
from allocsim.envs.engine.decide import available_to_allocate, cut_rows, round_to_total
from allocsim.envs.engine.jit import compile_shared, inline_kernel, inner_kernel, kernel

if TYPE_CHECKING:
    from allocsim.core.order_up_to import TargetParams
    from allocsim.envs.engine.core import BatchEngine

FloatArray = NDArray[np.float64]

# the loops' per-cell steps, each with the loops it calls compiled (no Python wrapper), and the
# per-copy steps inlined into their callers (half the compile time of separate kernels, same speed)
maximum = compile_shared(loops.maximum, inner_kernel)
minimum = compile_shared(loops.minimum, inner_kernel)
cover_window = compile_shared(loops.cover_window, inner_kernel, minimum=minimum)
supplier_share = compile_shared(loops.supplier_share, inner_kernel, cover_window=cover_window,
                                maximum=maximum, minimum=minimum)
ration_column = compile_shared(loops.ration_column, inner_kernel, maximum=maximum, minimum=minimum,
                               round_to_total=round_to_total)
ration_over = compile_shared(loops.ration_over, inner_kernel, ration_column=ration_column)
target_request = compile_shared(loops.target_request, inline_kernel, cover_window=cover_window)
feasible_cut = compile_shared(loops.feasible_cut, inline_kernel, ration_over=ration_over, cut_rows=cut_rows)
target_units = compile_shared(loops.target_units, inline_kernel, ration_column=ration_column,
                              feasible_cut=feasible_cut)
free_stock = compile_shared(loops.free_stock, inline_kernel)
unit_shares = compile_shared(loops.unit_shares, inline_kernel, ration_over=ration_over)
#: a ``targets`` action's parameters: ``COMPILED``'s (the vector env, rules) and the single env's one-call
#: step's (``allocsim.envs.engine.targets_step``) one kernel
target_parameters = compile_shared(loops.target_parameters, maximum=maximum, minimum=minimum)

#: the numpy-facing order-up-to calls over the compiled loops (the rules, the env's modes)
COMPILED = OrderUpTo(SimpleNamespace(
    cover_demands=compile_shared(loops.cover_demands, cover_window=cover_window),
    target_requests=compile_shared(loops.target_requests, target_request=target_request),
    ration_columns=compile_shared(loops.ration_columns, ration_column=ration_column),
    round_columns=compile_shared(loops.round_columns, round_to_total=round_to_total),
    feasible_allocations=compile_shared(loops.feasible_allocations, feasible_cut=feasible_cut),
    cut_capacity=compile_shared(loops.cut_capacity, cut_rows=cut_rows),
    supplier_shares=compile_shared(loops.supplier_shares, supplier_share=supplier_share),
    target_allocations=compile_shared(loops.target_allocations, target_request=target_request,
                                      free_stock=free_stock, target_units=target_units),
    unit_share_rows=compile_shared(loops.unit_share_rows, unit_shares=unit_shares),
    target_parameters=target_parameters,
))


@kernel
def targets_fractions(cover, safety, keep, order_cover, ring, period, on_hand, inbound, waiting,  # type: ignore[no-untyped-def]
                      dc_on_hand, on_order, reserve, headroom, supply_room, rooms, lead_short, lead_mean,
                      periods, max_order, orders, share_out, orders_out, request, alloc, cut, avail, free,
                      col, col_units, col_order, row_share, row_units, row_order, slots) -> None:
    """Fractions ``share_out`` (B, S, L + 1) and ``orders_out`` (B, S) of every copy's ``targets`` parameters.

    Parameters ``cover`` (P, L, S), ``safety``, ``keep``, ``order_cover`` (P, S): P = B (a row per
    copy) or 1 (one action for all). The state's arrays are ``EngineState``'s; ``headroom`` (B, L) and
    ``supply_room`` (B, L, S; one row unread unless ``rooms``, the days-of-supply guardrail) are
    ``BatchEngine.rooms()``; the supplier order (``orders`` True) is ``order_up_to_loops.supplier_share``,
    clipped to [0, 1] as ``ActionLayout.unit_fractions`` clips. The rest is scratch: ``request`` (L, S)
    float, ``alloc``, ``cut`` (L, S) int, ``avail``, ``free`` (S,) int, ``col`` (L,) float,
    ``col_units``, ``col_order`` (L,) int, ``row_share`` (S,) float, ``row_units``, ``row_order`` (S,)
    int, ``slots`` (H,) int.
    """
    n_l, n_s = on_hand.shape[1], on_hand.shape[2]
    for b in range(share_out.shape[0]):
        p = b if cover.shape[0] > 1 else 0
        t = period[b]
        for h in range(slots.shape[0]):
            slots[h] = (t + h) % slots.shape[0]
        for loc in range(n_l):  # the inventory position, then the request in its place
            for k in range(n_s):
                backlog = 0
                for c in range(waiting.shape[3]):
                    backlog += waiting[b, loc, k, c]
                request[loc, k] = float(on_hand[b, loc, k] + inbound[b, loc, k] - backlog)
        target_request(ring, b, slots, cover[p], safety[p], request, request)
        for k in range(n_s):
            avail[k] = available_to_allocate(dc_on_hand[b, k], reserve[k])
        free_stock(avail, keep[p], free)
        target_units(request, free, supply_room[b if rooms else 0], rooms, headroom[b], alloc, cut, col,
                     col_units, col_order, row_share, row_units, row_order)
        unit_shares(cut, avail, share_out[b], col, col_units, col_order)
        for k in range(n_s):
            orders_out[b, k] = 0.0
        if not orders:
            continue
        left = float(periods - t)
        for k in range(n_s):
            share = supplier_share(ring, b, slots, k, order_cover[p, k], left, lead_short, lead_mean,
                                   dc_on_hand[b, k] + on_order[b, k], max_order[k])
            # numpy.clip to scalar bounds (unit_fractions) moves only a value beyond a bound (-0.0 stays)
            orders_out[b, k] = 0.0 if share < 0.0 else (1.0 if share > 1.0 else share)


def decode_arguments(engine: BatchEngine, params: tuple[FloatArray, ...], headroom: NDArray[np.int64],
                     supply_room: NDArray[np.int64], lead: tuple[int, float], share: FloatArray,
                     orders: FloatArray) -> tuple[Any, ...]:
    """``targets_fractions``' arguments for every copy of ``engine``: ``params`` (cover, safety, keep,
    order cover: contiguous, leading axis B or 1), the rooms of ``BatchEngine.rooms()``, the supplier's
    (shortest, mean) ``lead``, the outputs ``share`` (B, S, L + 1) and ``orders`` (B, S), new scratch."""
    net, state = engine.net, engine.state
    rooms = net.scenario.guardrails.max_days_of_supply is not None
    n_l, n_s = net.n_locations, net.n_skus
    return (
        *params, state.forecast_ring, state.period, state.on_hand, state.inbound, state.waiting,
        state.dc_on_hand, state.on_order, net.safety_reserve, headroom, supply_room, rooms, int(lead[0]),
        float(lead[1]), int(net.periods), net.max_order, bool(net.policy_orders), share, orders,
        np.empty((n_l, n_s)), np.empty((n_l, n_s), dtype=np.int64), np.empty((n_l, n_s), dtype=np.int64),
        np.empty(n_s, dtype=np.int64), np.empty(n_s, dtype=np.int64), np.empty(n_l),
        np.empty(n_l, dtype=np.int64), np.empty(n_l, dtype=np.int64), np.empty(n_s),
        np.empty(n_s, dtype=np.int64), np.empty(n_s, dtype=np.int64),
        np.empty(state.forecast_ring.shape[1], dtype=np.int64))


def decode_targets(engine: BatchEngine, params: TargetParams, lead: tuple[int, float]
                   ) -> tuple[FloatArray, FloatArray]:
    """(allocation fractions (B, S, L + 1), order shares (B, S)) of ``params`` (leading axis B or 1) for
    every copy of ``engine`` now; ``lead`` is the supplier's (shortest, mean) lead time."""
    headroom, supply_room = engine.rooms()
    n_l, n_s = engine.net.n_locations, engine.net.n_skus
    share = np.empty((engine.batch, n_s, n_l + 1))
    orders = np.empty((engine.batch, n_s))
    rows = params.cover.reshape(-1, n_l, n_s).shape[0]

    def each(a: FloatArray, *shape: int) -> FloatArray:
        return np.ascontiguousarray(np.asarray(a, dtype=np.float64).reshape(rows, *shape))

    blocks = (each(params.cover, n_l, n_s), each(params.safety, n_s), each(params.keep, n_s),
              each(params.order_cover, n_s))
    room = np.ascontiguousarray(supply_room, dtype=np.int64)
    targets_fractions(*decode_arguments(engine, blocks, headroom, room, lead, share, orders))
    return share, orders
