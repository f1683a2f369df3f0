"""Demand stream 2: counter-based random numbers, one independent draw per (seed, purpose, period, lane).

Every random number of an episode is a pure function of its key: the episode seed, what it
is for (``DEMAND``, ``FORECAST``, ``LEAD``, ``BLOCK``), the period and the lane, and a
draw counter inside that key (rejection samplers take as many as they need). So any
period's demand can be drawn at any time, in any order, by any copy (common random
numbers need no stored arrays), and two keys never share a number. The bits come from
SplitMix64's finaliser (Steele, Lea and Flood 2014) chained over the key's fields, the
mixer behind Java's ``SplittableRandom``; 53 of them make a uniform in (0, 1).

Samplers, all exact for their distribution:
- Poisson: inversion from 0 for a mean below 10; Hörmann's transformed rejection
  (PTRS, 1993) above.
- Gamma: Marsaglia and Tsang (2000), boosted by ``U**(1/k)`` for a shape below 1.
- Negative binomial (shape ``k``, mean ``mu``): Poisson of a Gamma(``k``, ``mu/k``) rate, as numpy.
- Normal: Box-Muller.

``DEMAND_STREAM`` names this stream in run records and policy cards (stream 1 drew an
episode's arrays at reset from numpy's PCG64, in a different order).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.engine.jit import kernel

#: The version of the demand stream (recorded with results; version 1 was numpy's PCG64 at reset).
DEMAND_STREAM = 2
#: What a number is for: the first field of its key after the seed.
DEMAND, FORECAST, LEAD, BLOCK = 1, 2, 3, 4
#: Sub-keys of a negative-binomial draw: its gamma rate, then the Poisson count.
_GAMMA, _COUNT = 11, 12
#: Distribution codes, in the order of ``allocsim.envs.demand.DISTRIBUTIONS``.
POISSON, NEGATIVE_BINOMIAL, NORMAL = 0, 1, 2
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_INVERSION_BELOW = 10.0
#: Draw 0 of a key as an int64, not a literal: numba compiles a function once per literal argument value.
_FIRST = np.int64(0)


@kernel
def _mix(z: np.uint64) -> np.uint64:
    """SplitMix64's finaliser: a bijection of 64 bits whose output bits each depend on every input bit."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@kernel
def period_key(seed: int, purpose: int, period: int) -> np.uint64:
    """The first three fields of ``stream_key`` mixed: shared by every lane of one period and purpose,
    so a loop over the lanes mixes them once (``lane_key`` adds the lane)."""
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h ^ (np.uint64(purpose) * _GOLDEN))
    return _mix(h ^ (np.uint64(period) + _GOLDEN))


@kernel
def lane_key(prefix: np.uint64, lane: int) -> np.uint64:
    """``stream_key`` of ``lane`` from its ``period_key``."""
    return _mix(prefix ^ (np.uint64(lane) * _M1 + _GOLDEN))


@kernel
def stream_key(seed: int, purpose: int, period: int, lane: int) -> np.uint64:
    """The key of one draw site: the four fields mixed in turn (distinct fields, distinct keys)."""
    return lane_key(period_key(seed, purpose, period), lane)


@kernel
def uniform(key: np.uint64, k: int) -> float:
    """The ``k``-th uniform of ``key``, in the open interval (0, 1)."""
    bits = _mix(key ^ (np.uint64(k) * _M2 + _GOLDEN)) >> _S11
    return (float(bits) + 0.5) * _TO_UNIT


@kernel
def _normal(key: np.uint64, k: int) -> float:
    """A standard normal from uniforms ``k`` and ``k + 1`` of ``key`` (Box-Muller)."""
    return math.sqrt(-2.0 * math.log(uniform(key, k))) * math.cos(2.0 * math.pi * uniform(key, k + 1))


@kernel
def poisson(key: np.uint64, mu: float) -> int:
    """A Poisson count of mean ``mu`` (0 for ``mu <= 0``)."""
    if mu <= 0.0:
        return 0
    if mu < _INVERSION_BELOW:
        return poisson_inverted(key, mu, poisson_start(mu))
    # PTRS (Hörmann 1993, "The transformed rejection method for generating Poisson random variables")
    slam = math.sqrt(mu)
    loglam = math.log(mu)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    k = _FIRST
    while True:
        u = uniform(key, k) - 0.5
        v = uniform(key, k + 1)
        k += 2
        us = 0.5 - abs(u)
        x = math.floor((2.0 * a / us + b) * u + mu + 0.43)
        if us >= 0.07 and v <= vr:
            return int(x)
        if x < 0.0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
                <= -mu + x * loglam - math.lgamma(x + 1.0)):
            return int(x)


@kernel
def poisson_start(mu: float) -> float:
    """``exp(-mu)``: the probability of 0 a Poisson inversion starts from (the engine tables it per lane
    and period, ``EngineParams.poisson_start``, through ``fill_poisson_start``)."""
    return math.exp(-mu)


@kernel
def poisson_inverted(key: np.uint64, mu: float, start: float) -> int:
    """``poisson`` of a mean ``0 < mu < _INVERSION_BELOW`` by inversion from 0, ``start`` being
    ``poisson_start(mu)``."""
    u = uniform(key, _FIRST)
    p = start
    cdf = p
    x = 0
    while u > cdf and p > 0.0:
        x += 1
        p *= mu / x
        cdf += p
    return x


@kernel
def gamma(key: np.uint64, shape: float) -> float:
    """A Gamma(``shape``, 1) variate (Marsaglia and Tsang 2000; boosted below shape 1)."""
    boost = 1.0
    if shape < 1.0:
        boost = uniform(key, _FIRST) ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    k = _FIRST + 1
    while True:
        z = _normal(key, k)
        u = uniform(key, k + 2)
        k += 3
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        if math.log(u) < 0.5 * z * z + d - d * v + d * math.log(v):
            return d * v * boost


@kernel
def lane_demand(seed: int, period: int, lane: int, mu: float, code: int, dispersion: float,
                cv: float) -> int:
    """Units asked in ``period`` on ``lane`` (a flat location x SKU x channel index): one draw of the
    lane's distribution around mean ``mu``, from the episode seed alone."""
    if mu <= 0.0:  # a lane without demand (a location that does not serve the channel): nothing to draw
        return 0
    start = poisson_start(mu) if code == POISSON and mu < _INVERSION_BELOW else 0.0
    return keyed_demand(stream_key(seed, DEMAND, period, lane), mu, start, code, dispersion, cv)


@kernel
def keyed_demand(key: np.uint64, mu: float, start: float, code: int, dispersion: float, cv: float) -> int:
    """``lane_demand`` from the lane's key (``stream_key(seed, DEMAND, period, lane)``); ``start`` is
    ``poisson_start(mu)`` for a Poisson lane of mean below ``_INVERSION_BELOW`` (else not read)."""
    if mu <= 0.0:
        return 0
    if code == POISSON:
        return poisson_inverted(key, mu, start) if mu < _INVERSION_BELOW else poisson(key, mu)
    if code == NEGATIVE_BINOMIAL:
        rate = gamma(_mix(key ^ np.uint64(_GAMMA)), dispersion) * mu / dispersion
        return poisson(_mix(key ^ np.uint64(_COUNT)), rate)
    value = mu + mu * cv * _normal(key, _FIRST)
    return int(max(math.floor(value + 0.5), 0.0))  # half up; numpy's rint rounds half to even


@kernel
def forecast_noise(seed: int, period: int, lane: int, sigma: float) -> float:
    """The forecast's multiplicative noise for ``period`` on ``lane`` (location x SKU): lognormal of
    mean 1 and log-sd ``sigma`` (1 when ``sigma`` is 0)."""
    if sigma <= 0.0:
        return 1.0
    return keyed_noise(stream_key(seed, FORECAST, period, lane), sigma)


@kernel
def keyed_noise(key: np.uint64, sigma: float) -> float:
    """``forecast_noise`` (``sigma > 0``) from the key ``stream_key(seed, FORECAST, period, lane)``."""
    return math.exp(-0.5 * sigma * sigma + sigma * _normal(key, _FIRST))


@kernel
def uniform_int(seed: int, purpose: int, period: int, low: int, high: int) -> int:
    """A whole number ``low..high`` (inclusive), all equally likely, for ``purpose`` in ``period``."""
    key = stream_key(seed, purpose, period, _FIRST)
    return low + min(int(uniform(key, _FIRST) * (high - low + 1)), high - low)


@kernel
def fill_demand(seed: int, mean: NDArray[np.float64], code: NDArray[np.int8],
                dispersion: NDArray[np.float64], cv: NDArray[np.float64], out: NDArray[np.int64]) -> None:
    """Every period's demand of an episode into ``out`` (T, lanes): the draws the engine makes per period."""
    for t in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[t, j] = lane_demand(seed, t, j, mean[t, j], code[j], dispersion[j], cv[j])


@kernel
def fill_poisson_start(mean: NDArray[np.float64], code: NDArray[np.int64], out: NDArray[np.float64]) -> None:
    """``poisson_start`` of every lane and period into ``out`` (T, lanes) where the lane is Poisson with a
    mean in (0, ``_INVERSION_BELOW``) (``mean`` (T, lanes), ``code`` (lanes,)); 0 elsewhere."""
    for t in range(out.shape[0]):
        for j in range(out.shape[1]):
            mu = mean[t, j]
            out[t, j] = poisson_start(mu) if code[j] == POISSON and 0.0 < mu < _INVERSION_BELOW else 0.0


@kernel
def fill_forecast_noise(seed: int, sigma: float, out: NDArray[np.float64]) -> None:
    """The forecast noise of every period and location x SKU lane into ``out`` (T + H, lanes)."""
    for t in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[t, j] = forecast_noise(seed, t, j, sigma)


@kernel
def fill_leads(seed: int, low: int, high: int, out: NDArray[np.int64]) -> None:
    """The supplier lead time of an order placed in each period into ``out`` (T,): uniform ``low..high``."""
    for t in range(out.shape[0]):
        out[t] = uniform_int(seed, LEAD, t, low, high)
