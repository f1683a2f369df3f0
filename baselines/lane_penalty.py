"""Lane-penalty bound: perfect information on the DP grid, penalised by the Lagrangian lanes' value functions.

An information relaxation (Brown, Smith & Sun 2010) of the whole network whose penalty
comes from the Lagrangian bound (``allocsim.baselines.lagrangian_bound``), not from the exact
DP: with ``V_t(s) = sum_lanes V_lane,t(x_lane)``, each lane's value function at the fitted
DC prices (``allocsim.baselines.lagrangian_lane_values``), the ideal penalty

    z_t = r_t + V_{t+1}(s') - E[r_t + V_{t+1}(s') | s, a]

has mean zero under every non-anticipative policy (demand is independent across periods), so
the best penalised profit of a known demand path, averaged over paths, is an upper bound on
the best expected profit. On a path every lane's penalised value is at most its ``V_0`` and
the DC's at most its Lagrangian piece, so on every seed it is at most the Lagrangian bound
at the same prices (Ye, Zhu & Zhou 2014: the information relaxation with the Lagrangian's
penalty is at least as tight); what it takes back is the Lagrangian's looseness, the DC's
limit kept only on average: here the path problem keeps it, with the DC's own rule, exactly.

The path problem is solved exactly on the exact DP's state grid (``allocsim.baselines.dp_dual``),
so the bound exists where the DP accepts the scenario; it never reads the DP's values (the
DP presets check it, they do not feed it). The grid is built without solving the DP.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines import dp, dp_dual
from allocsim.baselines.dp import DPSolution, PeriodBuilder
from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_lane_values import lane_tables
from allocsim.envs.demand import DemandProfile, sample_episode
from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]


def refusal(net: Network, split: Split) -> str | None:
    """Why the lane-penalty bound does not apply (the DP's refusal, or lanes without a DP), or None."""
    why = dp.refusal(net)
    if why is not None:
        return f"the DP grid refuses the scenario: {why}"
    if split.fallback or any(lane.backorder > 0 for lane in split.dp):
        return "some lanes have no value function (backorders, several channels or advance notice)"
    return None


def lane_value_tables(split: Split, price: FloatArray) -> dict[tuple[int, int], FloatArray]:
    """``V`` (T + 1, cap + 1) of every DP lane at DC prices ``price`` (T, S), by (location, SKU)."""
    out = {}
    for lane in split.dp:
        V, _ = lane_tables(lane.pmf, lane.cap, lane.lead, lane.ship_cost, lane.holding, lane.margin, lane.end,
                           np.asarray(price[:, lane.sku], dtype=np.float64))
        out[(lane.loc, lane.sku)] = V
    return out


def penalty_values(net: Network, profile: DemandProfile, split: Split, price: FloatArray) -> DPSolution:
    """A ``DPSolution`` on the DP's grid whose values are the sum of the lanes' (no DP is solved).

    Only its grid, its initial state and its ``values`` are meaningful: what ``dp_dual`` reads.
    """
    build = PeriodBuilder(net, profile)
    grid, tables = build.grid, lane_value_tables(split, price)
    first = net.n_skus * (1 + grid.slots)
    values = []
    for t in range(net.periods):
        shape = grid.shape(t)
        total = np.zeros(shape)
        for ls in range(net.n_locations * net.n_skus):
            table = tables.get(divmod(ls, net.n_skus))
            if table is None:
                continue
            size = shape[first + ls]
            axis = [1] * len(shape)
            axis[first + ls] = size
            total = total + table[t][np.minimum(np.arange(size), table.shape[1] - 1)].reshape(axis)
        values.append(total)
    initial = (*(net.initial_dc_stock + net.planned_receipts[0]).tolist(), *[0] * (net.n_skus * grid.slots),
               *net.initial_location_stock.ravel().tolist())
    return DPSolution(net=net, value=float("nan"), values=values, choice=[],
                      actions=build.actions.reshape(-1, net.n_locations, net.n_skus),
                      initial=tuple(int(i) for i in initial), states=grid.states(), seconds=0.0, grid=grid,
                      profile=profile)


def lane_penalty_bound(solution: DPSolution, seed: int) -> float:
    """The best penalised profit of episode ``seed``'s demand path (``solution`` from ``penalty_values``)."""
    net = solution.net
    assert solution.profile is not None
    demand = sample_episode(solution.profile, net, seed).demand
    return dp_dual.penalised_value(solution, demand, "ideal")
