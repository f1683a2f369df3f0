"""The lane-penalty bound with history-priced value functions: ``lane_penalty``'s penalty, the value
functions taken from the history-priced Lagrangian bound's pieces (``allocsim.baselines.lagrangian_history``).

With ``b`` the walk's bucket of each SKU's network demand so far (a function of past demand only) and

    V_t(s, b) = sum over SKUs V_DC,t(DC stock, orders due, b_sku) + sum over lanes V_lane,t(x_lane, b_sku),

each piece's value function at its SKU's history prices ``lam[s, t, b]``, the penalty

    z_t = r_t + V_{t+1}(s', b') - E[r_t + V_{t+1}(s', b') | s, b, a]

has mean zero under every non-anticipative policy (demand is independent across periods, and
``(s', b')`` is a function of ``(s, b, a)`` and the period's demand), so the mean over paths of the best
penalised profit of a known path is an upper bound on the best expected profit (Brown, Smith & Sun
2010). The expectation is exact: ``V`` is a sum, and each lane's term needs only the joint law of its own
demand and the walk's move (``Walk.lane_moves``: the other lanes' demand convolved), so
``E[V_lane(x', b') | s, b, a] = sum_d P(d) sum_j P(j | d) V_lane(x'(d), clip(b + j - J))``; the DC's next
state is known given the decision, so its term averages over the move alone. On a path ``b`` is known
(``Walk.buckets``), so the path problem is ``lane_penalty``'s, on the DP's grid, with the period's
expected next values and ``V_{t+1}`` at the path's buckets. Each piece's penalised path value is at most
its own value, so no path is above the history-priced ``L``; with prices equal across buckets it is the
flat lane-penalty bound at those prices (the DC's term is then zero: its moves are known).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

import allocsim.envs.engine  # noqa: F401  (numba's cache folder)
from allocsim.baselines import dp_kernels
from allocsim.baselines.dp import PeriodBuilder
from allocsim.baselines.dp_dual import PENALTIES, _realised_rewards
from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_dc import DCModel, pipeline_step
from allocsim.baselines.lagrangian_history import DC_WORK, Walk
from allocsim.baselines.lagrangian_history_dp import _mix
from allocsim.baselines.lagrangian_lanes import _reward
from allocsim.envs.demand import DemandProfile, sample_episode
from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@njit(cache=True)
def history_lane_tables(pmf: FloatArray, inc: FloatArray, cap: int, lead: int, ship: float, hold: float,
                        margin: float, end: float, price: FloatArray, anchor: IntArray) -> FloatArray:
    """``V`` (T + 1, K2, cap + 1) of a lead-0 or lead-1 lane with the bucket (``lagrangian_lane_values``'
    model, ``price[t, b]``; ``inc[t, d, j]``: the walk's move given the lane's own demand ``d``)."""
    T, W = pmf.shape
    K2 = price.shape[1]
    V = np.zeros((T + 1, K2, cap + 1))
    for t in range(T - 1, -1, -1):
        keep = -hold + (end if t == T - 1 else 0.0)
        G = _mix(V[t + 1], inc[t], anchor)
        orders = lead == 0 or t + 1 <= T - 1
        most = cap if orders else 0
        for b in range(K2):
            p = price[t, b] + ship if orders else 0.0
            for x in range(cap + 1):
                best = -np.inf
                for a in range(min(most, cap - x) + 1):
                    y, q = (x + a, 0) if lead == 0 else (x, a)
                    ev = 0.0
                    for k in range(W):
                        if pmf[t, k] > 0.0:
                            ev += pmf[t, k] * G[b, k, max(y - k, 0) + q]
                    best = max(best, _reward(pmf[t], y, margin, keep) - p * a + ev)
                V[t, b, x] = best
    return V


@njit(cache=True)
def history_dc_tables(price: FloatArray, keep: FloatArray, receipts: IntArray, lead: int, below: int,
                      up_to: int, cap: int, top: int, step: FloatArray, anchor: IntArray) -> FloatArray:
    """``V`` (T + 1, K2, (top + 1) x (cap + 1)^(lead - 1)) of one SKU's DC with the bucket
    (``lagrangian_history_dp.dc_dp``'s model, state ``D + (top + 1) x code``; a stock above ``top``, never
    reached, is read at ``top`` so that every value is finite). ``step[t, j]``: the walk's move."""
    T, K2 = price.shape
    J = step.shape[1] // 2
    m = lead - 1
    base = cap + 1
    n_o = base ** m
    n = (top + 1) * n_o
    future = np.zeros(T + 1, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        future[t] = future[t + 1] + (receipts[t + 1] if t + 1 < T else 0)
    V = np.zeros((T + 1, K2, n))
    for t in range(T - 1, -1, -1):
        W = np.zeros((K2, n))
        for b in range(K2):
            for j in range(step.shape[1]):
                if step[t, j] > 0.0:
                    W[b] += step[t, j] * V[t + 1, min(max(anchor[b] + j - J, 0), K2 - 1)]
        for code in range(n_o):
            for D in range(top + 1):
                arriving, shifted = pipeline_step(D, code, m, base, future[t], below, up_to, cap)
                for b in range(K2):
                    best = -np.inf
                    for z in range(D + 1):
                        value = price[t, b] * z + keep[t] * (D - z)
                        if t + 1 < T:
                            value += W[b, min(D - z + arriving + receipts[t + 1], top) + (top + 1) * shifted]
                        best = max(best, value)
                    V[t, b, D + (top + 1) * code] = best
    return V


class HistoryPenalty:
    """What the path problem needs once per scenario: the grid, every lane's and SKU's DC ``V`` and, per
    period and bucket, their expected next values on the post-decision indices. ``with_dc=False`` leaves
    the DC's value out (still a valid bound, but the path's DC then sees the price path: looser, noisier)."""

    def __init__(self, net: Network, profile: DemandProfile, split: Split, wk: Walk,
                 price: FloatArray, with_dc: bool = True) -> None:
        if any(lane.lead > 1 for lane in split.dp):
            raise ValueError("the history lane-penalty bound needs lanes of lead time 0 or 1 (the DP grid's)")
        self.net, self.profile, self.walk = net, profile, wk
        self.build = PeriodBuilder(net, profile)
        anchor = np.arange(wk.size, dtype=np.int64)
        self.lanes: dict[int, tuple[int, FloatArray]] = {}  # grid axis ls -> (SKU, V)
        self.expected: dict[int, FloatArray] = {}  # ls -> (T, K2, posts): E[V_{t+1}(x', b') | post, b]
        for i, lane in enumerate(split.dp):
            moves = wk.lane_moves[i]
            pmf = np.ascontiguousarray(lane.pmf[:, : moves.shape[1]])
            own = np.ascontiguousarray(price[lane.sku], dtype=np.float64)
            V = history_lane_tables(pmf, moves, lane.cap, lane.lead, lane.ship_cost, lane.holding,
                                    lane.margin, lane.end, own, anchor)
            ls = lane.loc * net.n_skus + lane.sku
            self.lanes[ls] = (lane.sku, V)
            self.expected[ls] = self._expected(ls, pmf, moves, V, anchor)
        self.dc: list[FloatArray] = []  # per SKU: the DC's V (T + 1, K2, states), empty without its model
        model = DCModel.of(net, DC_WORK, ruleless=True) if with_dc else None
        self.model = model
        if model is not None:
            self.dc = [history_dc_tables(np.ascontiguousarray(price[s], dtype=np.float64),
                                         np.ascontiguousarray(model.keep[:, s]),
                                         np.ascontiguousarray(model.receipts[:, s]), model.lead,
                                         int(model.below[s]), int(model.up_to[s]), int(model.cap[s]),
                                         int(model.top[s]), wk.sku_moves[s], anchor)
                       for s in range(net.n_skus)]
            self.dc_expected = [self._dc_mix(s, anchor) for s in range(net.n_skus)]

    def _expected(self, ls: int, pmf: FloatArray, moves: FloatArray, V: FloatArray,
                  anchor: IntArray) -> FloatArray:
        serve, land = self.build.serve_from[ls], self.build.landing[ls]
        T, cap = self.net.periods, V.shape[2] - 1
        out = np.zeros((T, V.shape[1], len(serve)))
        for t in range(T - 1):
            G = _mix(V[t + 1], moves[t], anchor)  # (K2, W, cap + 1)
            for d in np.flatnonzero(pmf[t] > 0.0):
                nxt = np.minimum(np.maximum(serve - d, 0) + land, cap)
                out[t] += pmf[t, d] * G[:, d, nxt]
        return out

    def _dc_mix(self, s: int, anchor: IntArray) -> FloatArray:
        """``E[V_DC,t+1(state, b') | b]`` (T, K2, states): the DC's next state is known given the decision."""
        V, step = self.dc[s], self.walk.sku_moves[s]
        T, K2, J = self.net.periods, V.shape[1], step.shape[1] // 2
        out = np.zeros((T, K2, V.shape[2]))
        for t in range(T - 1):
            for b in range(K2):
                for j in np.flatnonzero(step[t] > 0.0):
                    out[t, b] += step[t, j] * V[t + 1, min(max(anchor[b] + j - J, 0), K2 - 1)]
        return out

    def _dc_block(self, values: FloatArray, s: int, shape: list[int] | tuple[int, ...]) -> FloatArray:
        """A DC value table (states,) of SKU ``s`` on the grid's DC and pipeline axes of ``shape``,
        broadcast over the others (the pipeline code: ``o_{t-1} + base o_{t-2} + ...``)."""
        assert self.model is not None
        n_s, slots = self.net.n_skus, self.build.grid.slots
        top, base = int(self.model.top[s]), int(self.model.cap[s]) + 1
        axes = [s, *[n_s + s * slots + j for j in range(slots)]]
        index = np.minimum(np.arange(shape[s]), top).reshape([-1] + [1] * slots)
        for j in range(slots):  # slot j arrives in j + 1 periods: the order placed slots - j periods ago
            size = shape[n_s + s * slots + j]
            index = index + (top + 1) * base ** (slots - 1 - j) * np.arange(size).reshape(
                [1] * (1 + j) + [size] + [1] * (slots - 1 - j))
        full = [1] * len(shape)
        for a in axes:
            full[a] = shape[a]
        return values[index].reshape(full)

    def grid_values(self, t: int, buckets: IntArray) -> FloatArray:
        """``V_t`` on the grid of period ``t`` at the SKUs' buckets ``buckets`` (S,)."""
        shape = self.build.grid.shape(t)
        first = self.build.first_y
        total = np.zeros(shape)
        for ls, (sku, V) in self.lanes.items():
            size = shape[first + ls]
            axis = [1] * len(shape)
            axis[first + ls] = size
            total = total + V[t, buckets[sku]][np.minimum(np.arange(size), V.shape[2] - 1)].reshape(axis)
        for s, V in enumerate(self.dc):
            total = total + self._dc_block(V[t, buckets[s]], s, shape)
        return total

    def expected_table(self, t: int, transitions: list[FloatArray], buckets: IntArray) -> FloatArray:
        """``E[V_{t+1}(s', b') | post-decision index, b]``, axes as ``PeriodBuilder.expected_next`` gives."""
        build = self.build
        shape = list(build.next_shape(t))
        for ls, m in enumerate(transitions):
            shape[build.first_y + ls] = m.shape[0]
        table = np.zeros(shape)
        for ls, (sku, _) in self.lanes.items():
            size = shape[build.first_y + ls]
            axis = [1] * len(shape)
            axis[build.first_y + ls] = size
            table = table + self.expected[ls][t, buckets[sku], :size].reshape(axis)
        for s, expected in enumerate(self.dc_expected if self.dc else []):
            table = table + self._dc_block(expected[t, buckets[s]], s, shape)
        return np.ascontiguousarray(table)

    def path_value(self, demand: IntArray) -> float:
        """The best penalised profit of one demand path ``demand`` (T, L, S, C) from the initial state."""
        net, build = self.net, self.build
        totals = demand.sum(axis=3).reshape(net.periods, -1)  # (T, L*S)
        buckets = self.walk.buckets(demand.sum(axis=(1, 3)).astype(np.float64))  # (T, S)
        j_next = np.zeros(int(np.prod(build.next_shape(net.periods - 1))))
        v_next = j_next
        for t in range(net.periods - 1, -1, -1):
            args, transitions = build.period(t)
            table = self.expected_table(t, transitions, buckets[t])
            args = build.with_strides(args, table)
            j_out = np.empty(int(np.prod(args.sizes)))
            dp_kernels.path_period(
                args, table.ravel(), _realised_rewards(build, t, demand[t]), build.serve_from, build.landing,
                totals[t].astype(np.int64), np.array(build.next_shape(t), dtype=np.int64), v_next, j_next,
                PENALTIES["ideal"], j_out,
            )
            j_next, v_next = j_out, self.grid_values(t, buckets[t]).ravel()
        initial = (*(net.initial_dc_stock + net.planned_receipts[0]).tolist(),
                   *[0] * (net.n_skus * build.grid.slots), *net.initial_location_stock.ravel().tolist())
        return float(j_next.reshape(build.grid.shape(0))[initial])

    def bound(self, seed: int) -> float:
        """The bound's value on episode ``seed``'s demand path."""
        return self.path_value(sample_episode(self.profile, self.net, seed).demand)
