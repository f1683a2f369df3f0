"""The DC's piece of the Lagrangian bound solved exactly: its own rule's orders, not any order up to them.

In the Lagrangian bound (``allocsim.baselines.lagrangian_bound``) the DC sells the units it
releases at the prices ``lam`` and otherwise holds them. Its clairvoyant-LP piece lets the
DC order anything between 0 and what its base-stock or min-max rule would order, so near
the horizon's end it simply stops ordering, while the simulator's rule keeps ordering up to
its level and those units close the horizon at ``salvage - cost``. Where the DC has nothing
random (a fixed supplier lead time of at least one period, no policy orders, no
working-capital cap that could trim the rule) its piece is a deterministic problem, solved
here exactly by DP per SKU over (DC on hand, the rule's orders still due):

    V_t(D, o) = max_{0 <= z <= D} lam_t z + keep_t (D - z) + V_{t+1}(D - z + arriving + planned, o'),

the rule's order ``min(cap, up_to - P)`` when ``P <= below`` (else 0) read from the position
``P = D + orders due + planned receipts still to come`` before the period's release, as the
engine orders (``allocsim.envs.engine.decide``); ``keep_t`` is minus the DC's holding cost, plus
``salvage - cost`` at the last close. Every trajectory the simulator can produce is a plan of
this DP (the safety reserve is dropped: a relaxation), so its value is at least the DC's
part of any policy. ``dc_plan`` returns the optimal value and the releases ``z`` (T,), the
DC's column in the bound's master LPs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (sets numba's cache folder before anything compiles)
from allocsim.baselines.lagrangian_disposal import disposal_cost, envelope, terminal
from allocsim.envs.network import BIG, Network
from allocsim.envs.replenishment import order_thresholds
from allocsim.envs.scenario.entities import FixedLeadTime, PolicyReplenishment

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
#: Most state x release x period steps per SKU and solve, else the LP piece: the fit solves the DC
#: every round, and on retail-small (10^8 steps) that made the fit 40 times slower for a bound
#: within the fit's tolerance of the LP piece's (47,809.59 against 47,808.73).
MAX_WORK = 20_000_000


@dataclass(frozen=True)
class DCModel:
    """One network's DC, per SKU, in the numbers ``dc_plan`` needs."""

    lead: int
    receipts: IntArray  # (T, S) planned receipts (with the initial stock in period 0)
    below: IntArray  # (S,)
    up_to: IntArray  # (S,)
    cap: IntArray  # (S,) most the rule orders per period
    top: IntArray  # (S,) most units on hand at the DC
    keep: FloatArray  # (T, S) per unit held at a close
    dispose: FloatArray | None = None  # (S,) cost of disposing of a unit at a decision (< 0: never)

    @classmethod
    def of(cls, net: Network, max_work: float | None = None, ruleless: bool = False,
           shelf_life: bool = False) -> DCModel | None:
        """The DC's model, or None where its piece is random, policy-ordered, capped, above ``max_work``
        steps (default ``MAX_WORK``), with shelf life (the DP has no ages; the LP piece disposes instead;
        with ``shelf_life`` the DP may dispose, as the lanes do: ``lagrangian_disposal``) or without rule
        orders (unless ``ruleless``: then a rule that never orders, lead 1: the fixed receipts alone)."""
        supplier = net.scenario.supplier
        if net.has_shelf_life and not shelf_life:
            return None
        if not isinstance(supplier.lead_time, FixedLeadTime) or supplier.lead_time.periods < 1:
            return None
        if isinstance(supplier.replenishment, PolicyReplenishment):
            return None
        if net.scenario.guardrails.working_capital_cap is not None:
            return None
        below, up_to = order_thresholds(net)
        ordering = below > -BIG
        if not ordering.any() and not ruleless:
            return None  # no rule orders: the LP piece is already exact (an integral flow)
        cap = np.where(ordering, np.minimum(net.supplier_capacity, np.maximum(up_to, 0)), 0).astype(np.int64)
        receipts = net.planned_receipts.astype(np.int64).copy()
        receipts[0] += net.initial_dc_stock
        position0 = receipts.sum(axis=0)
        top = np.where(ordering, np.maximum(up_to, position0), position0).astype(np.int64)
        lead, T = int(supplier.lead_time.periods) if ordering.any() else 1, net.periods
        for s in range(net.n_skus):
            states = (int(top[s]) + 1) * (int(cap[s]) + 1) ** (lead - 1)
            if states * (int(top[s]) + 1) * T > (MAX_WORK if max_work is None else max_work):
                return None
        hold, dispose = np.zeros(net.n_skus), np.zeros(net.n_skus)
        for s in range(net.n_skus):
            hold[s], dispose[s] = disposal_cost(float(net.unit_cost[s]), float(net.dc_holding_cost[s]),
                                                bool(net.expired_mask[:, s].any()))
        keep = np.tile(-hold[None, :], (T, 1))
        ends = net.salvage_value - net.unit_cost
        keep[-1] += [terminal(float(e), float(d)) for e, d in zip(ends, dispose, strict=True)]
        below = np.where(ordering, below, -BIG)
        return cls(lead, receipts, below.astype(np.int64), up_to.astype(np.int64), cap, top, keep,
                   dispose if net.has_shelf_life else None)


@njit(cache=True)
def pipeline_step(D: int, code: int, m: int, base: int, future: int, below: int, up_to: int,
                  cap: int) -> tuple[int, int]:
    """One period of the rule's order pipeline at DC stock ``D`` and orders due ``code`` (``o_{t-1} +
    base o_{t-2} + ...``, the oldest ``o_{t-m}``; ``future``: planned receipts still to come): the units
    arriving at the close and the next period's code. The rule orders ``min(cap, up_to - P)`` when its
    position ``P <= below``; with lead 1 (``m = 0``) the order itself arrives. The one decode of the
    pipeline for ``_solve`` and the history-priced DC (``lagrangian_history_dp.dc_dp``)."""
    due, rest, oldest = 0, code, 0
    for _ in range(m):
        o = rest % base
        due += o
        rest //= base
        oldest = o
    position = D + due + future
    order = min(cap, max(up_to - position, 0)) if position <= below else 0
    arriving = oldest if m > 0 else order
    shifted = (order + base * (code % (base ** (m - 1)))) if m > 0 else 0
    return arriving, shifted


@njit(cache=True)
def _solve(price: FloatArray, keep: FloatArray, receipts: IntArray, lead: int, below: int, up_to: int,
           cap: int, top: int, dispose: float = -1.0) -> tuple[float, FloatArray]:
    """Optimal value and releases (T,) of one SKU's DC (see the module docstring); ``dispose >= 0``: units
    on hand may be disposed of at each decision, before the rule reads its position, at that cost each."""
    T = price.shape[0]
    m = lead - 1  # orders still due besides the one arriving next
    base = cap + 1
    n_o = base ** m
    n = (top + 1) * n_o
    future = np.zeros(T + 1, dtype=np.int64)  # planned receipts after period t
    for t in range(T - 1, -1, -1):
        future[t] = future[t + 1] + (receipts[t + 1] if t + 1 < T else 0)
    V = np.zeros(n)
    arg = np.zeros((T, n), dtype=np.int64)
    kept = np.zeros((T, n), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        nxt = np.full(n, -np.inf)
        for code in range(n_o):
            for D in range(top + 1):
                arriving, shifted = pipeline_step(D, code, m, base, future[t], below, up_to, cap)
                best, pick = -np.inf, 0
                for z in range(D + 1):
                    value = price[t] * z + keep[t] * (D - z)
                    if t + 1 < T:
                        D2 = D - z + arriving + receipts[t + 1]
                        if top < D2:
                            continue  # never reached: the position stays at or below ``top``
                        value += V[D2 + (top + 1) * shifted]
                    if value > best:
                        best, pick = value, z
                nxt[D + (top + 1) * code] = best
                arg[t, D + (top + 1) * code] = pick
            lo = (top + 1) * code
            envelope(nxt[lo : lo + top + 1], dispose, 0, kept[t, lo : lo + top + 1])
        V = nxt
    releases = np.zeros(T)
    D, code = receipts[0], 0
    value = V[D]
    for t in range(T):
        D = kept[t, D + (top + 1) * code]
        z = arg[t, D + (top + 1) * code]
        releases[t] = z
        arriving, shifted = pipeline_step(D, code, m, base, future[t], below, up_to, cap)
        if t + 1 < T:
            D = D - z + arriving + receipts[t + 1]
        code = shifted
    return value, releases


def dc_plan(model: DCModel, price: FloatArray) -> tuple[float, FloatArray]:
    """The DC's best value at release prices ``price`` (T, S) and its releases (T, S)."""
    price = np.asarray(price, dtype=np.float64)
    total, z = 0.0, np.zeros(price.shape)
    for s in range(price.shape[1]):
        value, z[:, s] = _solve(price[:, s], model.keep[:, s], model.receipts[:, s], model.lead,
                                int(model.below[s]), int(model.up_to[s]), int(model.cap[s]),
                                int(model.top[s]),
                                -1.0 if model.dispose is None else float(model.dispose[s]))
        total += value
    return total, z
