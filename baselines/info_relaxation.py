"""Penalised perfect-information bound (Brown, Smith & Sun 2010): the clairvoyant LP minus a sales penalty.

What: per seed, the clairvoyant LP (``allocsim.baselines.clairvoyant``) with the
penalty ``sum_{t,l,s} v[t,l,s] x (S - E[S | before the demand])`` subtracted from
its objective, where ``S = min(H, W + K + D)`` is what location ``l`` sells of SKU
``s`` in period ``t``: ``H`` its stock when demand is served (after arrivals and
transfers out), ``W`` the backorders waiting, ``K`` the new orders of
advance-notice channels (known at the decision) and ``D`` the new demand of the
other channels. With ``Y = (H - W - K)^+``, ``S - E[S] = min(Y, D) - g(Y)``,
``g(y) = E[min(y, D)]``: the simulator serves greedily, so a location's sales
are the whole request or the whole stock, whatever the channel order.

Why it is still an upper bound (dual feasibility): every non-anticipative policy
fixes ``H``, ``W`` and ``K`` before ``D`` is drawn, and ``D`` is independent of
everything before it (``sample_episode`` draws lanes and periods independently;
forecasts and lead times come from their own streams), so each term has
conditional mean zero and the penalty's expectation is zero; the penalised
optimum on each seed is at least any policy's profit minus its penalty on that
seed, hence the mean over seeds bounds the best expected profit from above.
Replayed histories get ``v = 0`` (a bootstrap is not independent across periods).

Why it stays an LP: ``v x min(Y, D) = v x (S - B)`` with ``B = min(H, W + K)``;
the LP's sales get gain ``-v`` and a column ``B <= W + K`` (the LP's waiting
cohorts plus the known orders) gets ``+v``; ``v x g(H - B)`` is concave piecewise
linear with unit breakpoints and slopes ``P(D > k)``, written as segment columns
``seg_k in [0, 1]`` with gain ``v x P(D > k)`` and ``sum_k seg_k + B <= H`` (the
last segment is unbounded, which can only raise the bound). The LP takes ``B``
as large as it may (its gain ``v`` is at least ``v x P(D > k)``), which is the
simulator's ``min(H, W + K)`` at the simulator's trajectory. ``v >= 0`` keeps it
concave.

The weights: ``v[t,l,s] = alpha x (m - (keep[t,s] + lam[t+1,l,s]))`` floored at
0, with ``m`` the lane's lowest per-unit sales gain (price - cost + shortage
penalty), ``keep`` the LP's per-unit gain of a unit held at the close (minus
holding cost, plus the end revaluation in the last period) and ``lam`` the
zero-penalty LP's shadow price of a unit on hand at the start of ``t + 1``,
averaged over the fit seeds: ``m - keep - lam`` is the gradient penalty of a
value function linear in stock (Brown & Smith 2014). ``alpha`` is the value of
``ALPHAS`` with the lowest mean penalised bound on the same fit seeds (0, the
zero-penalty bound, is a candidate), chosen first for the lost-sales lanes and
then, given that, for the lanes with backorders or advance notice (where a sale
missed now is partly made later, so their best scale differs); in the last
period a lane's nonzero ``alpha`` becomes 1 (there the value after the close is
exactly linear, the salvage revaluation, so that term is the ideal penalty).
Fit seeds must not be the evaluation seeds (``allocsim.experiments.bounds`` uses
the end of the tuning block), so the weights are constants as far as the bound
is concerned.

Per seed the penalised bound can exceed the zero-penalty bound (on a seed with
low demand the penalty can be negative); only its mean is tighter in expectation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines.clairvoyant import BoundResult, ClairvoyantLP, _shifted, build
from allocsim.baselines.demand_pmf import lane_pmf
from allocsim.envs.demand import DemandProfile, sample_episode
from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
TAIL = 1e-7  # segments with P(D > k) below this are folded into the unbounded last one
ALPHAS = (0.0, 0.15, 0.3, 0.5, 0.75, 1.0)  # 0: the zero-penalty bound is always a candidate


@dataclass(frozen=True)
class SalesPenalty:
    """Weights ``v`` (T, L, S) and the survival ``P(D > k)`` (T, L, S, K) of each lane's period demand."""

    weight: FloatArray
    survival: FloatArray  # zero-padded beyond each lane's last kept segment
    segments: NDArray[np.int64]  # (T, L, S) segments kept per lane
    alpha: tuple[float, float] = (0.0, 0.0)  # (lost-sales lanes, lanes with backorders or notice)
    note: str | None = None
    fitted_on: tuple[int, ...] = ()  # the fit seeds

    def scaled(self, factor: float) -> SalesPenalty:
        """The same penalty with every weight times ``factor``."""
        alpha = (self.alpha[0] * factor, self.alpha[1] * factor)
        return SalesPenalty(self.weight * factor, self.survival, self.segments, alpha, self.note,
                            self.fitted_on)

    def expected_sales(self, stock: FloatArray) -> FloatArray:
        """``E[min(Y, D)]`` per lane for stock ``Y`` (T, L, S) under the same segments the LP uses."""
        k = np.arange(self.survival.shape[-1])
        units = np.clip(stock[..., None] - k, 0.0, 1.0)
        last = (k == self.segments[..., None] - 1)
        units = np.where(last, np.maximum(stock[..., None] - k, 0.0), units)
        return (units * self.survival).sum(axis=-1)

    def apply(self, plan: ClairvoyantLP) -> None:
        """Subtract the penalty from ``plan``'s objective (segment columns, ``B`` and two rows per lane)."""
        lp, on = plan.lp, self.weight > 0
        if not on.any():
            return
        L, S = on.shape[1:]
        l_, s_ = np.arange(L)[:, None], np.arange(S)[None, :]
        k = np.arange(self.survival.shape[-1])
        kept = on[..., None] & (k < self.segments[..., None])
        last = k == self.segments[..., None] - 1
        seg = lp.cols(self.survival.shape, gain=self.weight[..., None] * self.survival,
                      upper=np.where(last, np.inf, 1.0), mask=kept)
        stock = lp.rows(on.shape, upper=0.0, mask=on)  # sum seg + B <= H = inv + sales + expired at close
        lp.put(stock[..., None], seg, 1.0)
        lp.put(stock, plan.inv, -1.0)
        if plan.net.has_shelf_life:
            lp.put(stock, plan.drop_close, -1.0)
        for cols, when in plan.sold:
            tail = (None,) * (cols.ndim - 3)
            at = (when, l_[(..., *tail)], s_[(..., *tail)])
            lp.put(_shifted(stock, *at), cols, -1.0)
            lp.add_gain(cols, -self._at(*at))
        known = _known_orders(plan)
        if plan.queued is None and not known.any():
            return
        first = lp.cols(on.shape, gain=self.weight, mask=on)  # B = min(H, W + K)
        lp.put(stock, first, 1.0)
        waiting = lp.rows(on.shape, upper=known, mask=on)  # B - W <= K
        lp.put(waiting, first, 1.0)
        if plan.queued is not None:
            _put_waiting(plan, waiting)

    def _at(self, when: NDArray[np.int64], loc: NDArray[np.int64], sku: NDArray[np.int64]) -> FloatArray:
        """``weight[when, loc, sku]`` where ``0 <= when < T``, else 0 (broadcast)."""
        ok = (when >= 0) & (when < self.weight.shape[0])
        return np.where(ok, self.weight[np.clip(when, 0, self.weight.shape[0] - 1), loc, sku], 0.0)


def _known_orders(plan: ClairvoyantLP) -> FloatArray:
    """(T, L, S) new orders of advance-notice channels: known when the period's decision is made."""
    notice = plan.net.advance_notice > 0
    return plan.ep.demand[..., notice].sum(axis=-1).astype(np.float64)


def _put_waiting(plan: ClairvoyantLP, rows: NDArray[np.int64]) -> None:
    """``rows[t] -= W[t]``: a cohort queued at ``t0`` waits at ``t0 + j`` (``j <= patience``) if unserved."""
    lp, patience = plan.lp, plan.net.patience
    assert plan.queued is not None and plan.later is not None
    T, L, S = plan.queued.shape[:3]
    t0 = np.arange(T)[:, None, None, None]
    l_, s_ = np.arange(L)[None, :, None, None], np.arange(S)[None, None, :, None]
    served_k = np.arange(1, plan.later.shape[-1] + 1)
    for j in range(1, int(patience.max()) + 1):
        waits = j <= patience[None, None, None, :]
        lp.put(_shifted(rows, np.where(waits, t0 + j, -1), l_, s_), plan.queued, -1.0)
        gone = waits[..., None] & (served_k < j)  # served before it would wait at t0 + j
        lp.put(_shifted(rows, np.where(gone, (t0 + j)[..., None], -1), l_[..., None], s_[..., None]),
               plan.later, 1.0)


def unknown_channels(net: Network) -> NDArray[np.bool_]:
    """(C,) channels whose orders are not known at the decision (no advance notice)."""
    return np.asarray(net.advance_notice) == 0


def demand_survival(net: Network, profile: DemandProfile) -> tuple[FloatArray, NDArray[np.int64]]:
    """``P(D > k)`` of each lane's total new demand per period, truncated at ``TAIL``; and segment counts."""
    T, L, S, C = net.periods, *profile.mean.shape[1:]
    unknown = unknown_channels(net)
    cache: dict[tuple[int, ...], FloatArray] = {}
    rows: dict[tuple[int, int, int], FloatArray] = {}
    for t in range(T):
        for loc in range(L):
            for s in range(S):
                total = np.ones(1)
                for c in range(C):
                    if profile.mean[t, loc, s, c] <= 0 or not unknown[c]:
                        continue
                    key = (t if profile.replay is not None else -1, loc, s, c,
                           hash(float(profile.mean[t, loc, s, c])))
                    if key not in cache:
                        cache[key] = lane_pmf(profile, t, loc, s, c)
                    total = np.convolve(total, cache[key])
                tail = 1.0 - np.cumsum(total)
                rows[t, loc, s] = tail[: max(int((tail > TAIL).sum()), 0)]
    width = max(1, max(len(v) for v in rows.values()))
    survival = np.zeros((T, L, S, width))
    segments = np.zeros((T, L, S), dtype=np.int64)
    for (t, loc, s), tail in rows.items():
        survival[t, loc, s, : len(tail)] = tail
        segments[t, loc, s] = len(tail)
    return survival, segments


def _sales_margin(net: Network, profile: DemandProfile) -> FloatArray:
    """(L, S) lowest per-unit gain of a sale among the lane's demanded channels without notice (0 if none)."""
    margin = net.price - net.unit_cost[:, None] + net.shortage_penalty[None, :]  # (S, C)
    demanded = (profile.mean[: net.periods] > 0).any(axis=0) & unknown_channels(net)  # (L, S, C)
    low = np.where(demanded, margin[None], np.inf).min(axis=-1)
    return np.where(np.isfinite(low), low, 0.0)


def _solve(net: Network, seed: int, profile: DemandProfile,
           penalty: SalesPenalty | None) -> tuple[float, FloatArray]:
    """(objective, shadow prices of the location balance rows) of one seed's (penalised) LP."""
    plan = build(net, sample_episode(profile, net, seed))
    if penalty is not None:
        penalty.apply(plan)
    sol = plan.lp.solve()
    return sol.objective, sol.duals[plan.bal]


def fit_penalty(net: Network, profile: DemandProfile, fit_seeds: Sequence[int],
                alphas: Sequence[float] = ALPHAS) -> SalesPenalty:
    """The penalty's weights from the zero-penalty LP duals on ``fit_seeds``, scaled by the best ``alpha``."""
    survival, segments = demand_survival(net, profile)
    zero = np.zeros(segments.shape)
    if profile.replay is not None:
        why = "replayed demand is not independent across periods"
        return SalesPenalty(zero, survival, segments, note=why)
    if not segments.any():
        return SalesPenalty(zero, survival, segments, note="no demand without advance notice")
    solved = [_solve(net, seed, profile, None) for seed in fit_seeds]
    lam = np.mean([duals for _, duals in solved], axis=0)  # (T, L, S)
    plan = ClairvoyantLP(net, sample_episode(profile, net, fit_seeds[0]))
    later = np.concatenate([lam[1:], np.zeros_like(lam[:1])])
    held = plan.keep[:, None, :] + later  # value of a unit left at the close of t
    margin = _sales_margin(net, profile)[None]
    base = np.where(segments > 0, margin - held, 0.0)
    lost = lost_sales_lanes(net, profile)
    last = (np.arange(len(base)) == len(base) - 1)[:, None, None]

    def penalty_of(chosen: tuple[float, float]) -> SalesPenalty:
        alpha = np.where(lost, chosen[0], chosen[1])[None]  # (1, L, S)
        scale = np.where(last, (alpha > 0).astype(float), alpha)
        return SalesPenalty(np.maximum(scale * base, 0.0), survival, segments, chosen,
                            fitted_on=tuple(fit_seeds))

    def fit_mean(chosen: tuple[float, float]) -> float:
        if chosen == (0.0, 0.0):
            return float(np.mean([value for value, _ in solved]))
        return float(np.mean([_solve(net, seed, profile, penalty_of(chosen))[0] for seed in fit_seeds]))

    best = min(((a, 0.0) for a in alphas), key=fit_mean) if lost.any() else (0.0, 0.0)
    if not lost.all():  # then the lanes with backorders or advance notice, given the first scale
        best = min(((best[0], a) for a in alphas), key=fit_mean)
    return penalty_of(best)


def lost_sales_lanes(net: Network, profile: DemandProfile) -> NDArray[np.bool_]:
    """(L, S) lanes whose demanded channels all lose unmet units and have no advance notice."""
    demanded = (profile.mean[: net.periods] > 0).any(axis=0)  # (L, S, C)
    other = (np.asarray(net.backorder_fraction) > 0) | ~unknown_channels(net)
    return ~(demanded & other[None, None, :]).any(axis=-1)


@dataclass(frozen=True)
class PenalisedResult:
    """One seed's penalised and zero-penalty bounds (the latter with the LP's size and timing)."""

    penalised: float
    clairvoyant: BoundResult
    seconds: float  # the penalised LP alone (build + solve)

    @property
    def seed(self) -> int:
        return self.clairvoyant.seed


def penalised_bound(net: Network, seed: int, profile: DemandProfile,
                    penalty: SalesPenalty) -> PenalisedResult:
    """The penalised perfect-information bound of episode ``seed`` and its zero-penalty bound."""
    started = time.perf_counter()
    episode = sample_episode(profile, net, seed)
    plain = build(net, episode).lp.solve()
    built = time.perf_counter()
    plan = build(net, episode)
    penalty.apply(plan)
    value = plan.lp.solve().objective if (penalty.weight > 0).any() else plain.objective
    total = time.perf_counter() - started
    zero = BoundResult(seed=seed, bound=plain.objective, rows=plain.rows, cols=plain.cols, nnz=plain.nnz,
                       build_seconds=built - started - plain.solve_seconds, solve_seconds=plain.solve_seconds)
    return PenalisedResult(penalised=value, clairvoyant=zero, seconds=total - (built - started))
