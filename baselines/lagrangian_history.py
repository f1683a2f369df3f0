"""The Lagrangian bound with DC prices that follow the demand history: the DC's limit kept per bucket.

``allocsim.baselines.lagrangian_bound`` prices the DC's units at one ``lam[t, s]`` per period and
SKU, so the DC's availability limit holds only in expectation. Here the price also depends on
``b``, a bucket of the SKU's network demand so far: ``lam[s, t, b]``. ``b`` is a clipped walk that
starts at ``K`` and, after period ``t``, moves by ``clip(round((D_t - mu_t) / (width x sd_t)), -J, J)``
(``D_t`` the SKU's demand over every lane, ``mu_t`` and ``sd_t`` its mean and standard deviation;
halves round up), kept in ``0..2K``. It is a function of the demand seen before each decision, so
the prices are non-anticipative, and for any ``lam >= 0``

    L(lam) = DC(lam) + sum_lanes V_lane(lam) >= the best expected profit,

as for flat prices (every non-anticipative policy is feasible for every piece, and the priced
coupling adds ``lam x (released - shipped) >= 0`` on every path). Demand is independent across
lanes and periods, so ``b`` is Markov for every piece and knowing the rest of the history is worth
nothing to it: each lane's DP carries ``b`` (its move drawn from the lane's own demand and the
known distribution of the other lanes'), and so does the DC's exact DP (``lagrangian_dc``'s model:
its rule's own orders, a fixed supplier lead time). Every piece is an exact expectation: the bound
has no sampling error. With prices equal across buckets it is ``lagrangian_bound``'s ``L`` with the
exact DC.

The prices are fitted by a box-step bundle method started from the flat fitted prices: a master LP
over every piece's plans (its value and expected units per period and bucket) with the prices kept
in a box around the best point so far, widened after a step that lowers ``L`` and narrowed after
one that does not.

Applies where every lane is a DP lane with one channel and a lead time of at most 2 (a backordering
channel at lead 1: ``lagrangian_history_backorder``), and the DC has an exact model (tiny-dp, small-dp,
retail-small, seasonal-aging); refused elsewhere. Where a SKU has a shelf life the lanes and the DC may
dispose of units at each decision (``lagrangian_disposal``: what makes dropping ages a relaxation; the
DC disposes before its rule reads its position, as the engine writes expired units off at the close
before the next order).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines.lagrangian_backorder import depth_for
from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_dc import DCModel
from allocsim.baselines.lagrangian_disposal import terminal
from allocsim.baselines.lagrangian_history_backorder import lane_backorder
from allocsim.baselines.lagrangian_history_dp import dc_dp, lane_one, lane_two
from allocsim.baselines.lp_builder import LPBuilder
from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]
Plan = tuple[float, FloatArray]  # a piece's value and its expected units per (t, b)
NO_ORDER = 1e9
K, J, WIDTH = 4, 2, 1.0  # buckets either side of the start, most buckets a period moves, bucket width (sd)
DC_WORK = 2e9  # most DC DP steps per SKU and bucket (retail-small's jacket 1.1e8, seasonal-aging's salad 1e9)


def _dc(net: Network) -> DCModel | None:
    """The DC's exact model (with disposal where a SKU has a shelf life), or None."""
    return DCModel.of(net, DC_WORK, ruleless=True, shelf_life=True)


def refusal(net: Network, split: Split) -> str | None:
    """Why the history-priced bound does not apply, or None."""
    if split.fallback:
        return "a lane is not solvable by DP (several channels or advance notice)"
    if any(lane.lead > 2 or (lane.backorder > 0 and lane.lead != 1) for lane in split.dp):
        return "a lane has a lead time above 2, or backorders at a lead time other than 1"
    if any(lane.end - lane.ship_cost > 0 for lane in split.dp):
        return "units sent too late to land would be worth sending"
    if _dc(net) is None:
        return "the DC has no exact model (random supplier lead time, policy orders, a cap or too large)"
    return None


@dataclass(frozen=True)
class Walk:
    """The bucket walk: its moves per lane given the lane's own demand, and per SKU."""

    size: int  # 2K + 1 buckets
    start: int
    lane_moves: tuple[FloatArray, ...]  # per DP lane (T, W, 2J + 1): P(move = j - J | own demand)
    sku_moves: tuple[FloatArray, ...]  # per SKU (T, 2J + 1)
    mu: FloatArray  # per SKU and period (S, T): the network demand's mean
    sd: FloatArray  # ... and its standard deviation (at least 1e-9)
    jump: int = J
    width: float = WIDTH

    def buckets(self, totals: FloatArray) -> NDArray[np.int64]:
        """The walk's bucket before each period's decision (T, S) on a path of network demands
        ``totals`` (T, S) per SKU: ``b[0] = start``, then moved as the module docstring says."""
        T, S = totals.shape
        out = np.full((T, S), self.start, dtype=np.int64)
        for t in range(T - 1):
            move = np.floor(np.clip((totals[t] - self.mu[:, t]) / (self.width * self.sd[:, t]),
                                    -self.jump, self.jump) + 0.5).astype(np.int64)
            out[t + 1] = np.clip(out[t] + move, 0, self.size - 1)
        return out


def walk(net: Network, split: Split, k: int = K, j: int = J, width: float = WIDTH) -> Walk:
    """The walk's move probabilities from the lanes' demand pmfs."""
    T = net.periods
    lane_moves: list[FloatArray] = [np.zeros(0)] * len(split.dp)
    sku_moves = []
    mus, sds = np.zeros((net.n_skus, T)), np.ones((net.n_skus, T))
    for s in range(net.n_skus):
        ids = [i for i, lane in enumerate(split.dp) if lane.sku == s]
        step = np.zeros((T, 2 * j + 1))
        per_lane = {i: np.zeros((T, split.dp[i].pmf.shape[1], 2 * j + 1)) for i in ids}
        for t in range(T):
            pmfs = {i: np.trim_zeros(split.dp[i].pmf[t], "b") for i in ids}
            total = np.ones(1)
            for i in ids:
                total = np.convolve(total, pmfs[i])
            units = np.arange(len(total))
            mu = float(total @ units)
            sd = max(float(np.sqrt(total @ (units - mu) ** 2)), 1e-9)
            mus[s, t], sds[s, t] = mu, sd
            move = np.floor(np.clip((units - mu) / (width * sd), -j, j) + 0.5).astype(np.int64) + j
            np.add.at(step[t], move, total)
            for i in ids:
                others = np.ones(1)
                for o in ids:
                    if o != i:
                        others = np.convolve(others, pmfs[o])
                for d in range(len(pmfs[i])):
                    np.add.at(per_lane[i][t, d], move[d : d + len(others)], others)
        sku_moves.append(step)
        for i in ids:
            lane_moves[i] = per_lane[i]
    return Walk(2 * k + 1, k, tuple(lane_moves), tuple(sku_moves), mus, sds, j, width)


class HistoryPieces:
    """Every piece of ``L(lam)`` at history prices ``lam`` (S, T, 2K + 1)."""

    def __init__(self, net: Network, split: Split, wk: Walk) -> None:
        why = refusal(net, split)
        if why is not None:
            raise ValueError(why)
        dc = _dc(net)
        assert dc is not None
        self.net, self.split, self.walk, self.dc = net, split, wk, dc
        self.anchor = np.arange(wk.size, dtype=np.int64)  # the walk stays where it is before a move

    def lane(self, i: int, price: FloatArray) -> tuple[float, FloatArray]:
        """Lane ``i``'s value at its SKU's prices (T, 2K + 1) and its expected shipments per (t, b)."""
        lane, moves = self.split.dp[i], self.walk.lane_moves[i]
        pmf = np.ascontiguousarray(lane.pmf[:, : moves.shape[1]])
        price = np.ascontiguousarray(price, dtype=np.float64)
        end, d, b0 = terminal(lane.end, lane.dispose), lane.dispose, self.walk.start
        if lane.backorder > 0:
            depth = depth_for(lane.pmf, lane.backorder)
            v, shipped = lane_backorder(pmf, moves, lane.backorder, lane.cap, depth, lane.ship_cost,
                                        lane.holding, lane.margin, end, price, lane.start, b0, self.anchor, d)
        elif lane.lead == 2:
            v, shipped = lane_two(pmf, moves, lane.cap, lane.ship_cost, lane.holding, lane.margin, end,
                                  price, lane.start, b0, self.anchor, d)
        else:
            v, shipped = lane_one(pmf, moves, lane.cap, lane.lead, lane.ship_cost, lane.holding, lane.margin,
                                  end, price, lane.start, b0, self.anchor, d)
        return v + lane.penalty_constant, shipped

    def dc_piece(self, s: int, price: FloatArray) -> tuple[float, FloatArray]:
        """The DC's value for SKU ``s`` at prices (T, 2K + 1) and its expected releases per (t, b)."""
        m = self.dc
        return dc_dp(np.ascontiguousarray(price, dtype=np.float64), np.ascontiguousarray(m.keep[:, s]),
                     np.ascontiguousarray(m.receipts[:, s]), m.lead, int(m.below[s]), int(m.up_to[s]),
                     int(m.cap[s]), int(m.top[s]), self.walk.sku_moves[s], self.walk.start, self.anchor,
                     -1.0 if m.dispose is None else float(m.dispose[s]))

    def solve(self, lam: FloatArray) -> tuple[float, list[Plan], list[Plan]]:
        """``L(lam)``, each lane's (value, shipments) and each SKU's DC (value, releases)."""
        lanes = [self.lane(i, lam[lane.sku]) for i, lane in enumerate(self.split.dp)]
        dcs = [self.dc_piece(s, lam[s]) for s in range(self.net.n_skus)]
        return sum(v for v, _ in lanes) + sum(v for v, _ in dcs), lanes, dcs


@dataclass(frozen=True)
class HistoryFit:
    """The fitted history prices and how the fit went."""

    price: FloatArray  # (S, T, 2K + 1)
    bound: float  # L(price): the bound itself (exact)
    flat: float  # L at the flat prices it started from
    model: float  # the last master's value (a lower estimate of min L within its box)
    rounds: int
    seconds: float


def fit_history(pieces: HistoryPieces, flat: FloatArray, rounds: int = 400, budget: float = 3600.0,
                box: float = 2.0, tol: float = 1e-5, log: list | None = None) -> HistoryFit:
    """Box-step bundle method from the flat prices ``flat`` (T, S): the lowest ``L`` found and its prices."""
    split, S, T, B = pieces.split, pieces.net.n_skus, pieces.net.periods, pieces.walk.size
    n_lanes = len(split.dp)
    plans: list[tuple[int, float, int, FloatArray]] = []  # (convexity row, price-free gain, sku, units +/-)

    def add(row: int, s: int, value: float, units: FloatArray, price: FloatArray, sign: float) -> None:
        plans.append((row, value + sign * float((price * units).sum()), s, sign * units))

    def evaluate(price: FloatArray) -> float:
        bound, lanes, dcs = pieces.solve(price)
        for i, (v, shipped) in enumerate(lanes):
            add(i, split.dp[i].sku, v, shipped, price[split.dp[i].sku], 1.0)
        for s, (v, z) in enumerate(dcs):
            add(n_lanes + s, s, v, z, price[s], -1.0)
        return bound

    def master(lo: FloatArray, hi: FloatArray) -> tuple[float, FloatArray]:
        lp = LPBuilder()
        couple = lp.rows((S, T, B), upper=0.0)
        convex = lp.rows((n_lanes + S,), lower=1.0, upper=1.0)
        for row, gain, s, units in plans:
            col = lp.cols((1,), gain=gain)
            lp.put(convex[row : row + 1], col, 1.0)
            lp.put(couple[s], col, units)
        lp.put(couple, lp.cols((S, T, B), gain=-hi), -1.0)  # the prices' box: lo <= lam <= hi
        lp.put(couple, lp.cols((S, T, B), gain=lo), 1.0)
        sol = lp.solve()
        return sol.objective, np.clip(sol.duals[couple], lo, hi)

    started = time.perf_counter()
    never = np.full((T, B), NO_ORDER)
    for i, lane in enumerate(split.dp):  # a plan that ships nothing, one that releases nothing
        add(i, lane.sku, *pieces.lane(i, never), never, 1.0)
    for s in range(S):
        add(n_lanes + s, s, *pieces.dc_piece(s, -never), -never, -1.0)
    center = np.repeat(np.asarray(flat, dtype=np.float64).T[:, :, None], B, axis=2)
    best = flat_value = evaluate(center)
    model, done = np.nan, 0
    for done in range(1, rounds + 1):
        model, price = master(np.maximum(center - box, 0.0), center + box)
        bound = evaluate(price)
        drop = best - model
        if bound < best - 0.1 * drop:
            center, best, box = price, bound, box * 1.5
        else:
            box = max(box * 0.7, 1e-3)
        if log is not None:
            log.append({"round": done, "L": bound, "best": best, "model": model, "box": box,
                        "seconds": time.perf_counter() - started})
        if drop <= tol * abs(best) or time.perf_counter() - started > budget:
            break
    return HistoryFit(center, best, flat_value, model, done, time.perf_counter() - started)
