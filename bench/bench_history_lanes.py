"""Validity check of the history-priced bound's lanes on a preset: each lane's DP value at history prices
against real lanes simulated with ages, patience and bucket prices under base-stock rules.

``python bench/bench_history_lanes.py --preset seasonal-aging --episodes 4000 [--prices FILE]``: for every
DP lane, the lane's history value (``HistoryPieces.lane``) and the best mean profit of a few
non-anticipative base-stock rules (levels by bucket, one per factor of the mean demand over the lead
time plus a period) simulated as the engine runs a lane: units arrive aged by the lead time, are sold
oldest first, expire past the shelf life (written off at the unit cost, no holding after); a
backordering channel queues ``floor(beta x unmet)`` of its unmet new demand, serves the waiting first,
loses them past its patience and at the horizon, and charges its backorder cost a period. Markdowns
are dropped (they only lower the real revenue). The bucket moves with the lane's own demand and the
other lanes' demand of the SKU drawn from their pmfs. Every simulated rule is feasible for the real
lane, so its mean is at most the lane's history value up to sampling error: the script prints both,
the difference in standard errors, and whether any rule beat the DP by more than 3 of them.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from allocsim.baselines.lagrangian_bound import Split
from allocsim.baselines.lagrangian_history import HistoryPieces, Walk, walk
from allocsim.baselines.lagrangian_lanes import Lane, dp_channel
from allocsim.envs.network import Network
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.evaluation import env_for
from allocsim.experiments.history_store import history_for
from allocsim.experiments.lagrangian_store import multipliers_for


def simulate(net: Network, split: Split, wk: Walk, i: int, channel: int, price: np.ndarray,
             level: np.ndarray, episodes: int, seed: int) -> tuple[float, float]:
    """Mean profit and its standard error of lane ``i`` under order-up-to ``level[t, b]`` (on hand + in
    transit), paying ``price[t, b]`` (T, B) a unit sent."""
    lane: Lane = split.dp[i]
    rng = np.random.default_rng(seed)
    T, N, B = net.periods, episodes, wk.size
    s, c = lane.sku, channel
    expired = np.flatnonzero(net.expired_mask[:, s])
    shelf = int(expired[0]) if len(expired) else 10**6
    ages = min(shelf, T + 3)
    cost, hold = float(net.unit_cost[s]), float(net.location_holding_cost[lane.loc, s])
    beta, patience, wait_cost = lane.backorder, int(net.patience[c]), float(net.backorder_cost[c])
    pen = float(net.shortage_penalty[c])
    others = [o for o, other in enumerate(split.dp) if other.sku == s and o != i]
    stock = np.zeros((N, ages), dtype=np.int64)
    stock[:, 0] = lane.start
    transit = np.zeros((N, lane.lead + 1), dtype=np.int64)  # transit[:, k]: arriving in k periods
    backlog = np.zeros((N, patience + 1), dtype=np.int64)
    b = np.full(N, wk.start)
    profit = np.zeros(N)
    margin = float(net.price[s, c]) - cost + pen  # a unit sold; every unit demanded costs the penalty
    for t in range(T):
        arriving = transit[:, 0].copy()
        transit[:, :-1] = transit[:, 1:]
        transit[:, -1] = 0
        if lane.lead > 0:
            stock[:, min(lane.lead, ages - 1)] += arriving
        on_hand = stock.sum(axis=1)
        q = np.zeros(N, dtype=np.int64)
        if t + lane.lead <= T - 1:
            position = on_hand + transit.sum(axis=1)
            q = np.clip(level[t, b] - position, 0, np.maximum(lane.cap - position, 0))
        profit -= (price[t, b] + lane.ship_cost) * q
        if lane.lead == 0:
            stock[:, 0] += q
        else:
            transit[:, lane.lead - 1] += q
        own = rng.choice(lane.pmf.shape[1], size=N, p=lane.pmf[t] / lane.pmf[t].sum())
        total = own.copy()
        for o in others:
            pmf = split.dp[o].pmf[t]
            total += rng.choice(len(pmf), size=N, p=pmf / pmf.sum())
        left = stock.sum(axis=1)
        served = np.zeros(N, dtype=np.int64)
        for a in range(patience, -1, -1):  # the waiting first, oldest first
            take = np.minimum(backlog[:, a], left - served)
            backlog[:, a] -= take
            served += take
        new = np.minimum(own, left - served)
        sold = served + new
        profit += margin * sold - pen * own  # the penalty of every unit never sold
        queued = np.floor(beta * (own - new) + 1e-9).astype(np.int64)
        remove = sold.copy()
        for a in range(ages - 1, -1, -1):  # oldest units first
            take = np.minimum(stock[:, a], remove)
            stock[:, a] -= take
            remove -= take
        profit -= wait_cost * (backlog.sum(axis=1) + queued)
        backlog[:, 1:] = backlog[:, :-1]  # one period older; past the patience: lost
        backlog[:, 0] = queued
        profit -= cost * stock[:, -1]  # the oldest reach the shelf life at this close: written off
        stock[:, 1:] = stock[:, :-1]
        stock[:, 0] = 0
        profit -= hold * stock.sum(axis=1)
        if t == T - 1:
            profit += float(net.salvage_value[s] - cost) * stock.sum(axis=1)
        mu, sd = wk_stats(split, s, t)
        move = np.floor(np.clip((total - mu) / sd, -(wk.sku_moves[s].shape[1] // 2),
                                wk.sku_moves[s].shape[1] // 2) + 0.5).astype(np.int64)
        b = np.clip(b + move, 0, B - 1)
    return float(profit.mean()), float(profit.std(ddof=1) / np.sqrt(N))


def wk_stats(split: Split, s: int, t: int) -> tuple[float, float]:
    """Mean and standard deviation of the SKU's network demand in period ``t`` (as ``walk`` takes them)."""
    total = np.ones(1)
    for lane in split.dp:
        if lane.sku == s:
            total = np.convolve(total, np.trim_zeros(lane.pmf[t], "b"))
    units = np.arange(len(total))
    mu = float(total @ units)
    return mu, max(float(np.sqrt(total @ (units - mu) ** 2)), 1e-9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="seasonal-aging")
    parser.add_argument("--episodes", type=int, default=4000)
    parser.add_argument("--lanes", default="", help="comma-separated lane indices (default: all)")
    parser.add_argument("--flat", action="store_true", help="the flat fitted prices in every bucket")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.preset)
    env = env_for(scenario)
    net, split = env.network, Split.of(env.network, env.profile)
    wk = walk(net, split)
    pieces = HistoryPieces(net, split, wk)
    if args.flat:
        flat = multipliers_for(scenario).price.T
        prices = np.repeat(flat[:, :, None], wk.size, axis=2)
    else:
        fitted = history_for(scenario, fit=False)
        if fitted is None:
            print(f"{args.preset}: no shipped or cached history prices (--flat: the flat ones)",
                  file=sys.stderr)
            return 2
        prices = fitted.price
    worst = -np.inf
    chosen = [int(x) for x in args.lanes.split(",")] if args.lanes else range(len(split.dp))
    for i in chosen:
        lane = split.dp[i]
        price = prices[lane.sku]
        channel = dp_channel(net, env.profile, lane.loc, lane.sku)
        value = pieces.lane(i, price)[0]
        mean_demand = (lane.pmf * np.arange(lane.pmf.shape[1])).sum(axis=1)
        window = np.array([mean_demand[t : t + lane.lead + 1].sum() for t in range(net.periods)])
        best, best_se, best_f = -np.inf, 0.0, 0.0
        for f in (1.0, 1.3, 1.6, 2.0):
            level = np.repeat(np.ceil(f * window)[:, None], wk.size, axis=1).astype(np.int64)
            level += np.arange(wk.size)[None, :] - wk.start  # a unit more a bucket above the start
            mean, se = simulate(net, split, wk, i, channel, price, np.maximum(level, 0),
                                args.episodes, 7 + i)
            if mean > best:
                best, best_se, best_f = mean, se, f
        z = (best - value) / max(best_se, 1e-12)
        worst = max(worst, z)
        print(f"lane {i} ({net.locations[lane.loc]}, {net.skus[lane.sku]}): history value {value:,.2f}, "
              f"best rule (x{best_f}) {best:,.2f} ± {1.96 * best_se:,.2f}, rule - value = {z:+.1f} se",
              flush=True)
    print(f"largest rule - value: {worst:+.1f} standard errors ({'VIOLATION' if worst > 3 else 'ok'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
