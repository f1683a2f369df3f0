"""Lagrangian bound: price the DC's stock, and every location x SKU becomes its own problem.

What: the one-warehouse multi-retailer bound. The only thing the locations share is
the DC's stock: ``sum_l ship[t, l, s] <= z[t, s]``, the units the DC lets go in period
``t``. Pricing that coupling at ``lam[t, s] >= 0`` (a deterministic price, per unit)
splits the network into the DC, which sells ``z`` at ``lam`` under its own stock,
supplier and rule constraints, and one problem per lane (location x SKU), which buys
units at ``lam + shipping`` and sells them to its demand. For any ``lam >= 0``

    L(lam) = DC(lam) + sum_lanes V_lane(lam) >= the best expected profit,

because every non-anticipative policy of the network is feasible for each piece and
the priced coupling only adds ``lam x (z - sum ship) >= 0``. Each piece may itself be
bounded from above by any relaxation and ``L`` stays an upper bound:

* a lane with one channel without notice is solved by DP
  (``allocsim.baselines.lagrangian_lanes``): the expectation, no perfect information;
  exactly where the channel loses unmet demand, by an exact DP of a relaxation where it
  backorders (``allocsim.baselines.lagrangian_backorder``: infinite patience, free waiting);
* any other lane (several channels, advance notice) by its own perfect-information LP on
  each seed (``fallback_block``: capacity dropped, every backordered unit may wait,
  unserved waiting is free);
* the DC exactly by DP where nothing about it is random and it is small
  (``allocsim.baselines.lagrangian_dc``: its rule's own orders, a fixed lead time), else by
  its part of the clairvoyant LP (``allocsim.baselines.clairvoyant``) on each seed (random
  supplier lead times are seen in advance; the rule may order anything up to its order; the
  working-capital cap is dropped).

``lam`` is fitted on fit seeds (never evaluation seeds) by column generation (Kelley's
cutting planes on the dual): a master LP holds the DC and fallback pieces of every fit
seed (or convex combinations of the exact DC's plans), convex combinations of the DP lanes'
policies (their expected profit and expected shipments per period) and the coupling rows,
whose duals are the next ``lam``; each round adds every lane's optimal policy (and the DC's
plan) at that ``lam`` and gives an upper bound ``L(lam)``; the ``lam`` with the lowest one is
kept. Evaluation then computes ``L(lam)`` per seed exactly: the DP lanes' expectations once,
the DC and fallback pieces on the seed.

A contract (rights per period on a channel's sales summed over its locations) couples only
the lanes that sell its channel; where each contracted channel is sold at one location it is
that lane's own, and the lane (never a DP lane) takes the contract's rows in its fallback LP
(``clairvoyant.contract_rows``, as in the clairvoyant LP). Refused (a note, no bound) where
locations share more than the DC: transfers between locations, a contracted channel sold at
several locations, replayed demand histories (not independent across periods, so a lane's DP
would be wrong).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines.clairvoyant import ClairvoyantLP, contract_rows
from allocsim.baselines.lagrangian_dc import DCModel, dc_plan
from allocsim.baselines.lagrangian_lanes import (
    Lane,
    LaneSolution,
    dp_channel,
    make_lane,
    solve_lane,
    system_units,
)
from allocsim.baselines.lp_builder import LPBuilder
from allocsim.envs.demand import DemandProfile, EpisodeDemand, sample_episode
from allocsim.envs.network import Network
from allocsim.envs.scenario.entities import FixedLeadTime

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
GAP_TOL = 3e-4  # stop when the best bound is within this share of the master's value
ROUNDS = 400  # most column-generation rounds
BUDGET = 1200.0  # most seconds of fitting (retail-medium: about 3 s a round on an idle core)
SMOOTHING = 0.9  # weight of the best prices so far in the next query (Wentges)
NO_ORDER = 1e9  # a price no lane ships at: the first column of every lane


class _DCPiece(ClairvoyantLP):
    """The DC's part of the clairvoyant LP: it sells ``ship`` (T, 1, S) at ``sell_gain``, no shipping."""

    def __init__(self, net: Network, episode: EpisodeDemand, lp: LPBuilder, sell_gain: FloatArray) -> None:
        super().__init__(net, episode)
        self.lp, self.sell_gain = lp, sell_gain

    def stock(self) -> None:
        net, lp, T, S = self.net, self.lp, self.T, self.S
        self.ship = lp.cols((T, 1, S), gain=self.sell_gain[:, None, :])
        self.dc = lp.cols((T, S), gain=self.keep)
        receipts = net.planned_receipts + self.first(net.initial_dc_stock)
        self.dcbal = lp.rows((T, S), lower=receipts, upper=receipts)
        lp.put(self.dcbal, self.dc, 1.0)
        lp.put(self.dcbal[1:], self.dc[:-1], -1.0)
        lp.put(self.dcbal[:, None, :], self.ship, 1.0)
        if net.has_shelf_life:  # expiry as disposal at cost - salvage, as in the clairvoyant LP
            loss = np.maximum(net.unit_cost - net.salvage_value, 0.0)
            perishable = np.broadcast_to(net.expired_mask.any(axis=0)[None, :], (T, S))
            lp.put(self.dcbal, lp.cols((T, S), gain=-loss[None, :], mask=perishable), 1.0)

    def capital(self) -> None:
        """The working-capital cap is dropped (a relaxation)."""


def dc_block(net: Network, episode: EpisodeDemand, lp: LPBuilder, sell_gain: FloatArray) -> IntArray:
    """Add the DC piece of one episode to ``lp``; its sales columns (T, S)."""
    piece = _DCPiece(net, episode, lp, sell_gain)
    piece.stock()
    piece.supplier()
    return piece.ship[:, 0, :]


def fallback_block(lp: LPBuilder, net: Network, demand: IntArray, loc: int, sku: int,
                   buy_gain: FloatArray) -> IntArray:
    """Add one lane's perfect-information LP for its realised ``demand`` (T, C); its purchase columns (T,).

    ``buy_gain`` (T,) is added to each purchase's gain (``-lam`` when pricing, 0 in the master).
    """
    T, C = demand.shape
    d, end = int(net.lead_time[loc]), float(net.salvage_value[sku] - net.unit_cost[sku])
    t = np.arange(T)
    buy = lp.cols((T,), gain=-net.shipping_cost[loc] + np.where(t + d >= T, end, 0.0) + buy_gain)
    keep = -net.location_holding_cost[loc, sku] + np.where(t == T - 1, end, 0.0)
    inv = lp.cols((T,), gain=keep)
    k = np.arange(int(net.patience.max()) + 1)
    waits = (net.backorder_fraction > 0)[None, :, None] & (k[None, None, :] <= net.patience[None, :, None])
    mask = (demand > 0)[..., None] & ((k == 0) | waits) & (t[:, None, None] + k <= T - 1)
    margin = net.price[sku] - net.unit_cost[sku] + net.shortage_penalty  # (C,)
    serve = lp.cols((T, C, len(k)), gain=margin[None, :, None] - net.backorder_cost[None, :, None] * k,
                    mask=mask)
    asked = lp.rows((T, C), upper=demand.astype(np.float64), mask=demand > 0)
    lp.put(asked[..., None], serve, 1.0)
    start = np.where(t == 0, float(net.initial_location_stock[loc, sku]), 0.0)
    bal = lp.rows((T,), lower=start, upper=start)
    lp.put(bal, inv, 1.0)
    lp.put(bal[1:], inv[:-1], -1.0)
    if net.expired_mask[:, sku].any():  # expiry as disposal at a close, at cost - salvage (a relaxation)
        lp.put(bal, lp.cols((T,), gain=-max(float(net.unit_cost[sku] - net.salvage_value[sku]), 0.0)), 1.0)
    lp.put(np.where(t + d < T, bal[np.minimum(t + d, T - 1)], -1), buy, -1.0)
    served_at = t[:, None, None] + k[None, None, :]
    lp.put(np.where(served_at < T, bal[np.minimum(served_at, T - 1)], -1), serve, 1.0)
    lp.constant -= float((demand * net.shortage_penalty[None, :]).sum())
    if net.contract_rights[sku].any():  # the lane's contracts (``refusal``: no other location sells them)
        asked = np.zeros((T, net.n_skus, C))
        asked[:, sku, :] = demand
        contract_rows(lp, net, asked, [(serve, served_at, sku, np.arange(C)[None, :, None])])
    return buy


def refusal(net: Network, profile: DemandProfile) -> str | None:
    """Why the Lagrangian bound does not apply to this network, or None."""
    if profile.replay is not None:
        return "replayed demand is not independent across periods"
    if net.n_lanes:
        return "transfers between locations couple them beyond the DC"
    sellers = net.serves | (profile.mean[: net.periods] > 0).any(axis=(0, 2))  # (L, C)
    shared = [net.channels[c] for c in np.flatnonzero(net.contract_rights.any(axis=0))
              if sellers[:, c].sum() > 1]
    if shared:  # one contract row sums their sales
        names = ", ".join(shared)
        return f"contracted channel {names} is sold at several locations: the contract couples them"
    return None


@dataclass(frozen=True)
class Split:
    """The network's lanes: solved by DP, or by the fallback LP per seed."""

    dp: tuple[Lane, ...]
    fallback: tuple[tuple[int, int], ...]
    dc: DCModel | None = None  # the DC solved exactly by DP (None: its clairvoyant-LP piece per seed)

    @classmethod
    def of(cls, net: Network, profile: DemandProfile) -> Split:
        lanes, other, cache = [], [], {}
        for loc in range(net.n_locations):
            for sku in range(net.n_skus):
                channel = dp_channel(net, profile, loc, sku)
                if channel is None:
                    other.append((loc, sku))
                else:
                    lanes.append(make_lane(net, profile, loc, sku, channel, cache))
        return cls(tuple(lanes), tuple(other), DCModel.of(net))

    def random(self, net: Network) -> bool:
        """Whether the DC and fallback pieces change with the seed."""
        return bool(self.fallback) or not isinstance(net.scenario.supplier.lead_time, FixedLeadTime)


@dataclass(frozen=True)
class Multipliers:
    """The fitted DC prices and how the fit went."""

    price: FloatArray  # (T, S)
    fit_bound: float  # L(price) on the fit seeds
    master: float  # the last master LP's value (a lower estimate of min L on the fit seeds)
    rounds: int
    seconds: float
    fitted_on: tuple[int, ...]
    note: str | None = None


def _terminal(net: Network, lanes: Sequence[Lane], price: FloatArray) -> float:
    """What DP lanes earn from units sent too late to land (at most every unit, at ``salvage - cost``)."""
    units, total = system_units(net), 0.0
    for lane in lanes:
        late = price[net.periods - lane.lead :, lane.sku] if lane.lead else price[:0, lane.sku]
        gain = np.maximum(lane.end - lane.ship_cost - late, 0.0)
        if gain.any():
            total += float(gain.sum()) * float(units[lane.sku])
    return total


class _Master:
    """The column-generation master LP over ``n`` fit seeds (every gain is ``n`` x its per-seed mean)."""

    def __init__(self, net: Network, profile: DemandProfile, split: Split, seeds: Sequence[int]) -> None:
        T, S, n = net.periods, net.n_skus, len(seeds)
        self.net, self.split, self.n, self.lp = net, split, n, LPBuilder()
        lp = self.lp
        self.couple = lp.rows((T, S), upper=0.0)
        self.dc_convex = lp.rows((1,), lower=1.0, upper=1.0) if split.dc is not None else None
        if split.dc is not None:
            self.add_dc(*dc_plan(split.dc, np.full((T, S), -NO_ORDER)), np.full((T, S), -NO_ORDER))
        for seed in seeds:
            episode = sample_episode(profile, net, seed)
            if split.dc is None:
                lp.put(self.couple, dc_block(net, episode, lp, np.zeros((T, S))), -1.0)
            for loc, sku in split.fallback:
                buy = fallback_block(lp, net, episode.demand[:, loc, sku], loc, sku, np.zeros(T))
                lp.put(self.couple[:, sku], buy, 1.0)
        t = np.arange(T)
        for lane in split.dp:  # units sent too late to land: priced, never in the DP
            late = t >= T - lane.lead if lane.lead else np.zeros(T, bool)
            cols = lp.cols((T,), gain=n * (lane.end - lane.ship_cost), mask=late)
            lp.put(self.couple[:, lane.sku], cols, float(n))
        self.convex = lp.rows((len(split.dp),), lower=1.0, upper=1.0)
        for i, lane in enumerate(split.dp):
            self.add(i, solve_lane(lane, np.full(T, NO_ORDER)), np.full(T, NO_ORDER))

    def add(self, i: int, sol: LaneSolution, price: FloatArray) -> None:
        lane = self.split.dp[i]
        col = self.lp.cols((1,), gain=self.n * sol.profit(price))
        self.lp.put(self.convex[i : i + 1], col, 1.0)
        self.lp.put(self.couple[:, lane.sku], col, self.n * sol.shipped)

    def add_dc(self, value: float, releases: FloatArray, price: FloatArray) -> None:
        """A plan of the exact DC: its value at ``price`` and its releases (T, S)."""
        assert self.dc_convex is not None
        col = self.lp.cols((1,), gain=self.n * (value - float((price * releases).sum())))
        self.lp.put(self.dc_convex, col, 1.0)
        self.lp.put(self.couple, col, -self.n * releases)

    def solve(self) -> tuple[float, FloatArray]:
        """(master value / n, the coupling rows' prices (T, S) >= 0)."""
        sol = self.lp.solve()
        return sol.objective / self.n, np.maximum(sol.duals[self.couple], 0.0)


def fit_multipliers(net: Network, profile: DemandProfile, fit_seeds: Sequence[int],
                    rounds: int = ROUNDS, gap_tol: float = GAP_TOL, budget: float = BUDGET) -> Multipliers:
    """The DC prices minimising ``L`` on ``fit_seeds`` (one seed where nothing about the pieces is random).

    Column generation with Wentges smoothing: the lanes are priced at ``SMOOTHING`` x the best
    prices so far + the rest x the master's duals (plain Kelley rounds oscillate), ``L`` is
    computed there directly, and every lane's policy joins the master. Stops when the best ``L``
    is within ``gap_tol`` of the master's value (which is at most ``min L``), after ``rounds``
    or after ``budget`` seconds.
    """
    started = time.perf_counter()
    split = Split.of(net, profile)
    seeds = tuple(fit_seeds) if split.random(net) else tuple(fit_seeds[:1])
    master = _Master(net, profile, split, seeds)
    best, center, value, done = np.inf, None, np.nan, 0
    for done in range(1, rounds + 1):  # noqa: B007 (kept for the report)
        value, dual = master.solve()
        price = dual if center is None else SMOOTHING * center + (1.0 - SMOOTHING) * dual
        sols = [solve_lane(lane, price[:, lane.sku]) for lane in split.dp]
        dc = dc_plan(split.dc, price) if split.dc is not None else None
        pieces = float(np.mean([seed_pieces(net, profile, price, seed, split, dc) for seed in seeds]))
        bound = pieces + sum(s.value for s in sols) + _terminal(net, split.dp, price)
        if bound < best:
            best, center = bound, price
        for i, sol in enumerate(sols):
            master.add(i, sol, price[:, split.dp[i].sku])
        if dc is not None:
            master.add_dc(*dc, price)
        if best - value <= gap_tol * max(abs(best), 1.0) or time.perf_counter() - started > budget:
            break
    assert center is not None
    return Multipliers(center, best, value, done, time.perf_counter() - started, seeds)


@dataclass(frozen=True)
class LagrangianResult:
    """One seed's Lagrangian bound at fixed prices: the DP lanes' expectation plus the seed's pieces."""

    seed: int
    bound: float
    lanes: float  # the DP lanes' part (the same on every seed)
    seconds: float  # the seed's DC and fallback LPs


def lanes_value(net: Network, profile: DemandProfile, price: FloatArray) -> float:
    """The DP lanes' part of ``L(price)``: exact expectations, with the late-shipment term."""
    split = Split.of(net, profile)
    lanes = sum(solve_lane(lane, price[:, lane.sku]).value for lane in split.dp)
    return lanes + _terminal(net, split.dp, price)


def seed_pieces(net: Network, profile: DemandProfile, price: FloatArray, seed: int,
                split: Split | None = None, dc: tuple[float, FloatArray] | None = None) -> float:
    """The DC and fallback pieces of ``L(price)`` on episode ``seed`` (``dc``: the exact DC's plan at
    ``price``, if already solved)."""
    split = split or Split.of(net, profile)
    total = 0.0
    if split.dc is not None:
        total += (dc or dc_plan(split.dc, price))[0]
        if not split.fallback:
            return total
    lp, episode = LPBuilder(), sample_episode(profile, net, seed)
    if split.dc is None:
        dc_block(net, episode, lp, price)
    for loc, sku in split.fallback:
        fallback_block(lp, net, episode.demand[:, loc, sku], loc, sku, -price[:, sku])
    return total + lp.solve().objective


def lagrangian_bound(net: Network, profile: DemandProfile, price: FloatArray, seed: int,
                     lanes: float | None = None, split: Split | None = None,
                     dc: tuple[float, FloatArray] | None = None) -> LagrangianResult:
    """``L(price)`` on episode ``seed`` (``lanes``, ``split``, ``dc``: the DP lanes' part, the lanes and the
    exact DC's plan at ``price``, if known)."""
    started = time.perf_counter()
    lanes = lanes_value(net, profile, price) if lanes is None else lanes
    pieces = seed_pieces(net, profile, price, seed, split, dc)
    return LagrangianResult(seed, lanes + pieces, lanes, time.perf_counter() - started)
