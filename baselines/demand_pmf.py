"""Demand distributions of one lane and period, and what a location's stock earns against them.

Used by the exact DP (``allocsim.baselines.dp``). Each lane's demand is drawn by
``allocsim.envs.demand`` independently of every other lane and period, so a
location's period is described by the pmfs of its channels alone.

Truncation: a pmf is kept on ``0..K`` with ``K`` the smallest count where
``P(D > K) < 1e-12``; the mass beyond ``K`` (below 1e-12) is put on ``K`` so the
pmf sums to one. Everything downstream only asks for ``min(D, y)`` with ``y`` at
most the stock a location can hold, so the truncation moves probabilities (and
the expected demand used for lost-sale penalties) by less than 1e-12.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.special import ndtr

from allocsim.envs.demand import DISTRIBUTIONS, DemandProfile

FloatArray = NDArray[np.float64]
TAIL = 1e-12


def _from_dist(dist: stats.rv_discrete) -> FloatArray:
    top = int(dist.isf(TAIL))
    pmf = dist.pmf(np.arange(top + 1))
    pmf[-1] += max(1.0 - pmf.sum(), 0.0)
    return pmf / pmf.sum()


def _poisson(mean: float, dispersion: float, cv: float) -> FloatArray:
    return _from_dist(stats.poisson(mean))


def _negative_binomial(mean: float, dispersion: float, cv: float) -> FloatArray:
    # numpy's negative_binomial(k, p) counts failures before k successes, as scipy's nbinom does
    return _from_dist(stats.nbinom(dispersion, dispersion / (dispersion + max(mean, 1e-12))))


def _normal(mean: float, dispersion: float, cv: float) -> FloatArray:
    """``max(rint(N(mean, mean * cv)), 0)``, as the sampler draws it."""
    sd = mean * cv
    if sd <= 0:
        return point_mass(max(int(np.rint(mean)), 0))
    top = max(int(np.ceil(stats.norm.isf(TAIL, mean, sd))), 0)
    edges = ndtr((np.arange(top + 1) + 0.5 - mean) / sd)
    pmf = np.diff(np.concatenate([[0.0], edges]))
    pmf[-1] += max(1.0 - pmf.sum(), 0.0)
    return pmf / pmf.sum()


#: pmf builders by distribution name (the codes of ``DemandProfile.distribution``).
PMF_BUILDERS: dict[str, Callable[[float, float, float], FloatArray]] = {
    "poisson": _poisson,
    "negative_binomial": _negative_binomial,
    "normal": _normal,
}


def point_mass(count: int) -> FloatArray:
    pmf = np.zeros(count + 1)
    pmf[count] = 1.0
    return pmf


def lane_pmf(profile: DemandProfile, period: int, loc: int, sku: int, channel: int) -> FloatArray:
    """pmf of one lane's demand in ``period`` (a point mass when demand is a replayed history)."""
    if profile.replay is not None:
        return point_mass(int(profile.replay[period, loc, sku, channel]))
    mean = float(profile.mean[period, loc, sku, channel])
    if mean <= 0:
        return point_mass(0)
    name = DISTRIBUTIONS[int(profile.distribution[loc, sku, channel])]
    return PMF_BUILDERS[name](
        mean, float(profile.dispersion[loc, sku, channel]), float(profile.cv[loc, sku, channel])
    )


def capped(pmf: FloatArray, top: int) -> FloatArray:
    """The pmf of ``min(D, top + 1)``: entries ``0..top`` and, last, ``P(D > top)``."""
    out = np.zeros(top + 2)
    keep = min(len(pmf), top + 1)
    out[:keep] = pmf[:keep]
    out[-1] = max(1.0 - out[:-1].sum(), 0.0)
    return out


def _capped_sum(a: FloatArray, b: FloatArray) -> FloatArray:
    top = len(a) - 2
    out = np.convolve(a, b)[: top + 2]
    out[-1] = max(1.0 - out[:-1].sum(), 0.0)
    return out


@dataclass(frozen=True)
class LocationPeriod:
    """One location, SKU and period: expected service and the next on-hand stock, per stock level.

    ``served[y, j]`` is the expected units sold to the ``j``-th channel (in the order
    given, i.e. priority order) when ``y`` units are on hand; ``mean[j]`` that
    channel's expected demand; ``transition[y, z]`` = P(``z`` units left after the
    period's demand | ``y`` on hand), demand beyond stock being lost.
    """

    served: FloatArray  # (top + 1, n_channels)
    mean: FloatArray  # (n_channels,)
    transition: FloatArray  # (top + 1, top + 1)

    @property
    def leftover(self) -> FloatArray:
        """Expected units left on hand (top + 1,)."""
        return self.transition @ np.arange(self.transition.shape[1])


def location_period(pmfs: Sequence[FloatArray], top: int) -> LocationPeriod:
    """Serve channels with demand pmfs ``pmfs`` (priority order) from ``y = 0..top`` units.

    A channel gets ``min(max(y - A, 0), D)`` where ``A`` is the demand of the channels
    ahead of it, exactly as the model serves a period's demand with lost sales.
    """
    stock = np.arange(top + 1)
    ahead = capped(point_mass(0), top)
    served = np.zeros((top + 1, len(pmfs)))
    for j, pmf in enumerate(pmfs):
        own = capped(pmf, top)
        survival = 1.0 - np.cumsum(own)[:top]  # P(D > k), k = 0..top-1
        sales = np.concatenate([[0.0], np.cumsum(survival)])  # E[min(m, D)], m = 0..top
        left = np.maximum(stock[:, None] - np.arange(top + 2)[None, :], 0)  # y - a, floored
        served[:, j] = sales[left] @ ahead
        ahead = _capped_sum(ahead, own)
    total = ahead  # capped pmf of the location's whole demand
    transition = np.zeros((top + 1, top + 1))
    for y in stock:
        transition[y, 1 : y + 1] = total[y - 1 :: -1][:y] if y else 0.0
        transition[y, 0] = 1.0 - transition[y, 1:].sum()
    mean = np.array([float(np.arange(len(p)) @ p) for p in pmfs])
    return LocationPeriod(served=served, mean=mean, transition=transition)
