"""Whole units from decoded fractions: the one implementation shared by the engine and the runtime.

Plain Python over numpy arrays, written so that numba compiles it unchanged: the engine
(``allocsim.envs.engine.decide``) wraps these functions with ``numba.njit`` and the
torch-free ONNX runtime (``allocsim.agents.inference``) calls them as they are, so both
turn the same fractions into the same units. Imports numpy only.
"""

from __future__ import annotations

import math

import numpy as np


def available_to_allocate(on_hand, safety_reserve):  # type: ignore[no-untyped-def]
    """Units the DC may allocate: on hand minus the safety reserve, never below 0 (scalars or arrays)."""
    return np.maximum(on_hand - safety_reserve, 0)


#: Rows up to this long are sorted (``raise_smallest``): faster there than selecting.
_SORTED_UP_TO = 32


def largest_remainder_row(total: int, fractions, out, order) -> None:  # type: ignore[no-untyped-def]
    """Split ``total`` by ``fractions`` (D,) into whole units ``out`` (D,), summing to ``total``.

    Floors first, then one more unit to the largest remainders, ties to the lower index
    (a stable sort of floor - raw, as ``numpy.argsort(kind="stable")``). ``order`` (D,)
    is scratch space, so the compiled engine allocates nothing per call.
    """
    n = fractions.shape[0]
    short = total
    for j in range(n):
        base = math.floor(total * fractions[j])
        out[j] = base
        short -= base
    raise_smallest(out, fractions, float(total), short, order)  # float: one compiled body for both roundings


def round_to_total(amount, total: int, out, order) -> None:  # type: ignore[no-untyped-def]
    """Whole units ``out`` (D,) from ``amount`` (D,) (summing to ``total`` or just below): floors, then
    one more unit to the largest remainders, ties to the lower index (``largest_remainder_row``'s rule,
    with the amounts given). ``order`` (D,) is scratch."""
    n = amount.shape[0]
    short = total
    for j in range(n):
        out[j] = math.floor(amount[j])
        short -= out[j]
    raise_smallest(out, amount, 1.0, short, order)


def raise_smallest(out, values, scale, short: int, order) -> None:  # type: ignore[no-untyped-def]
    """One more unit to the ``short`` entries of ``out`` (D,) of smallest key ``out[j] - scale * values[j]``,
    ties to the lower index: the first ``short`` of a stable sort of the keys (the remainder rule of
    ``largest_remainder_row`` and ``round_to_total``). ``order`` (D,) is scratch.

    Only which entries get a unit matters, not their order, so a long row selects them (quickselect
    over (key, index), expected O(D), with a branch-free partition) instead of sorting: the insertion
    sort, O(D^2), was most of a period's decision at 100 locations. A row of up to ``_SORTED_UP_TO``
    entries (where the sort is faster), or one where every entry gets a unit or more, is sorted as before.
    """
    n = out.shape[0]
    if short <= 0:
        return
    for j in range(n):
        order[j] = j
    if short >= n or n <= _SORTED_UP_TO:
        for j in range(n):  # insertion sort of indices by key; stable, so ties keep index order
            key = out[j] - scale * values[j]
            i = j - 1
            while i >= 0 and (out[order[i]] - scale * values[order[i]]) > key:
                order[i + 1] = order[i]
                i -= 1
            order[i + 1] = j
    else:
        lo, hi, kth = 0, n - 1, short - 1
        while lo < hi:  # Lomuto's partition of order[lo..hi] around its middle entry, moved last
            mid = (lo + hi) // 2
            pivot = order[mid]
            order[mid] = order[hi]
            order[hi] = pivot
            pivot_key = out[pivot] - scale * values[pivot]
            below = lo  # order[lo..below - 1] come before the pivot in (key, index) order
            for i in range(lo, hi):
                q = order[i]
                key = out[q] - scale * values[q]
                order[i] = order[below]
                order[below] = q
                below += (key < pivot_key) | ((key == pivot_key) & (q < pivot))  # no branch to mispredict
            order[hi] = order[below]
            order[below] = pivot
            if kth < below:
                hi = below - 1
            elif kth > below:
                lo = below + 1
            else:
                break
    for j in range(min(short, n)):  # at most one unit each (numpy's ranks < short)
        out[order[j]] += 1


def cut_rows(quantity, limit, out, share, row, order) -> bool:  # type: ignore[no-untyped-def]
    """``out`` (L, S) = ``quantity`` (L, S) with each row above its ``limit`` (L,) cut to exactly
    ``max(limit, 0)`` units in proportion to the row, by largest remainder; True if any was cut.

    The one capacity cut of a whole-unit decision (the rules' ``feasible_allocation``, the
    ``targets`` decode, the env's capacity guardrail on allocations and transfers;
    ``allocsim.core.order_up_to.cut_to_capacity`` runs it copy by copy): entry
    quotas are ``units x (limit / row total)``, rounded by ``round_to_total``; a cut row never gives
    an entry more than it asked for. ``share`` (S,) float and ``row``, ``order`` (S,) int are
    scratch, so a compiled caller allocates nothing.
    """
    changed = False
    for loc in range(quantity.shape[0]):
        total = 0
        for k in range(quantity.shape[1]):
            total += quantity[loc, k]
        cap = max(limit[loc], 0)
        if total > cap:
            factor = cap / total
            for k in range(quantity.shape[1]):
                share[k] = quantity[loc, k] * factor
            round_to_total(share, cap, row, order)
            for k in range(quantity.shape[1]):
                out[loc, k] = row[k]
            changed = True
        else:
            for k in range(quantity.shape[1]):
                out[loc, k] = quantity[loc, k]
    return changed


def transfer_units(transfer_frac, lane_source, on_hand, out) -> None:  # type: ignore[no-untyped-def]
    """Units each lane moves, into ``out`` (K, S): its share of the source's ``on_hand`` (L, S), floored.

    A source whose lanes ask for more than all its stock (shares summing above 1) has
    the shares scaled down to sum to 1.
    """
    n_k, n_s = transfer_frac.shape[0], transfer_frac.shape[1]
    for q in range(n_k):
        src = lane_source[q]
        for k in range(n_s):
            out_share = 0.0
            for r in range(n_k):
                if lane_source[r] == src:
                    out_share += transfer_frac[r, k]
            out[q, k] = math.floor(transfer_frac[q, k] / max(out_share, 1.0) * on_hand[src, k])


def policy_order(order_frac: float, max_order: int) -> int:
    """The policy's supplier order of one SKU: its share of ``max_order``, rounded half to even."""
    return int(np.rint(order_frac * max_order))


def holdback_units(share: float, on_hand: int) -> int:
    """Units a holdback of ``share`` protects out of ``on_hand``: rounded half to even
    (on hand 10, share 0.35 -> 3.5 -> 4; share 0.25 -> 2.5 -> 2), never above ``on_hand``."""
    return min(int(np.rint(share * on_hand)), on_hand)
