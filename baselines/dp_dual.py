"""The information-relaxation check on the exact DP: perfect information with a penalty built from its values.

Brown, Smith & Sun (2010), "Information relaxations and duality in stochastic dynamic
programs": for one demand path, let the decision maker see the whole path but charge
a penalty ``z_t`` per period whose expectation is zero under every non-anticipative
policy. The path's best penalised profit, averaged over paths, is an upper bound on
the optimum. With the *ideal* penalty built from the exact value function,

    z_t = r_t + V_{t+1}(s_{t+1}) - E[r_t + V_{t+1}(s_{t+1}) | s_t, a_t],

every path's value equals the DP optimum (zero variance): the classic check that a
penalised bound is wired correctly. The reward ``r_t`` is random within a period here
(sales depend on the period's demand), so the ideal penalty carries it; the penalty
with the value term only (``penalty="value"``: ``z_t = V_{t+1}(s_{t+1}) - E[V_{t+1} | s_t,
a_t]``) is still dual feasible, so its mean over paths is a valid bound >= the
optimum, but paths differ.

The path problem is a deterministic DP over the exact DP's state grid, period by period
backwards (``allocsim.baselines.dp_kernels.path_period``): ``J_t(s) = max_a r - z +
J_{t+1}(s')`` with ``s'`` the state the path's demand leads to.

API for the bound code: ``ideal_penalty_value(solution, seed)`` and ``penalised_value``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines import dp_kernels
from allocsim.baselines.dp import DPSolution, PeriodBuilder
from allocsim.baselines.dp_model import location_holding
from allocsim.envs.demand import DemandProfile, sample_episode

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _realised_rewards(build: PeriodBuilder, t: int, demand: IntArray) -> FloatArray:
    """Profit of period ``t`` at each location x SKU and post index on the path's demand (L*S, P)."""
    net, tables = build.net, build.tables
    last = t == net.periods - 1
    margin = net.salvage_value - net.unit_cost
    out = np.zeros(build.serve_from.shape)
    holding = location_holding(net)
    for ls, axis in enumerate(tables.axes):
        l_, s = divmod(ls, net.n_skus)
        stock = axis.serve_from.astype(np.float64)
        earned = np.zeros(len(stock))
        for c in tables.channels[l_]:  # priority order, lost sales
            asked = float(demand[l_, s, c])
            sold = np.minimum(stock, asked)
            earned += sold * (net.price[s, c] - net.unit_cost[s]) - (asked - sold) * net.shortage_penalty[c]
            stock = stock - sold
        keep = -holding[l_, s] + (margin[s] if last else 0.0)
        earned += keep * stock + (margin[s] * axis.landing if last else 0.0)
        out[ls, : len(earned)] = earned
    return out


#: The penalties ``penalised_value`` knows, by name (codes of the compiled path problem).
PENALTIES: dict[str, int] = {"none": 0, "value": 1, "ideal": 2}


def penalised_value(solution: DPSolution, demand: IntArray, penalty: str = "ideal") -> float:
    """Best penalised profit from the initial state on one demand path ``demand`` (T, L, S, C).

    ``penalty``: ``"ideal"`` (equals the optimum), ``"value"`` (value term only, a valid
    but looser bound in the mean) or ``"none"`` (the integer perfect-information optimum).
    """
    if penalty not in PENALTIES:
        raise ValueError(f"unknown penalty {penalty!r}; choose one of {', '.join(PENALTIES)}")
    net = solution.net
    build = PeriodBuilder(net, solution.profile or DemandProfile.build(net))
    totals = demand.sum(axis=3).reshape(net.periods, -1)  # (T, L*S): a location's demand of a SKU
    j_next = np.zeros(int(np.prod(build.next_shape(net.periods - 1))))
    v_next = j_next
    for t in range(net.periods - 1, -1, -1):
        args, transitions = build.period(t)
        later = solution.values[t + 1] if t + 1 < net.periods else np.zeros(build.next_shape(t))
        table = build.expected_next(later, transitions)
        args = build.with_strides(args, table)
        j_out = np.empty(int(np.prod(args.sizes)))
        dp_kernels.path_period(
            args, table.ravel(), _realised_rewards(build, t, demand[t]), build.serve_from, build.landing,
            totals[t].astype(np.int64), np.array(build.next_shape(t), dtype=np.int64), v_next, j_next,
            PENALTIES[penalty], j_out,
        )
        j_next, v_next = j_out, solution.values[t].ravel()
    return float(j_next.reshape(solution.values[0].shape)[solution.initial])


def ideal_penalty_value(solution: DPSolution, seed: int) -> float:
    """The perfect-information value of seed ``seed``'s demand path with the ideal penalty.

    Equals ``solution.value`` on every seed (up to rounding); see the module docstring.
    """
    net = solution.net
    demand = sample_episode(solution.profile or DemandProfile.build(net), net, seed).demand
    return penalised_value(solution, demand, "ideal")


def policy_profit(solution: DPSolution, demand: IntArray) -> float:
    """What the DP's own policy earns on one demand path, by the DP's model of the period (a check).

    Equals the simulator's ``profit`` of ``--policy dp`` on that path when the model is the
    simulator's cycle (tested on random scenarios of the DP's class).
    """
    net = solution.net
    build = PeriodBuilder(net, solution.profile or DemandProfile.build(net))
    totals = demand.sum(axis=3).reshape(net.periods, -1)
    state = int(np.ravel_multi_index(solution.initial, solution.values[0].shape))
    profit = 0.0
    for t in range(net.periods):
        args, transitions = build.period(t)
        args = build.with_strides(args, build.expected_next(np.zeros(build.next_shape(t)), transitions))
        earned, state = dp_kernels.follow(
            args, build.actions, state, int(solution.choice[t].ravel()[state]),
            _realised_rewards(build, t, demand[t]), build.serve_from, build.landing,
            totals[t].astype(np.int64), np.array(build.next_shape(t), dtype=np.int64),
        )
        profit += earned
    return profit
