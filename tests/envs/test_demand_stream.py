"""Demand stream 2: counter-based draws are reproducible, independent per key, and follow their laws.

Goodness of fit uses scipy's reference distributions (chi-square on pooled bins, fixed keys,
so the test is deterministic); the thresholds are loose enough that a correct sampler passes
for any key, and tight enough that a wrong mean, variance or shape fails by far.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from allocsim.envs import demand_stream as ds
from allocsim.envs.demand import DemandProfile, sample_episode
from allocsim.envs.network import Network
from allocsim.envs.scenario import load_scenario

DRAWS = 6000


def _key(seed: int, period: int, lane: int = 0) -> np.uint64:
    return np.uint64(ds.stream_key(seed, ds.DEMAND, period, lane))


def _chi_square_p(draws: np.ndarray, pmf: np.ndarray) -> float:
    """p-value of ``draws`` against ``pmf`` over 0..len-1 (last bin = the tail), bins pooled to >= 20."""
    observed = np.bincount(np.minimum(draws, len(pmf) - 1), minlength=len(pmf)).astype(float)
    expected = pmf * len(draws)
    obs_bins, exp_bins, o, e = [], [], 0.0, 0.0
    for oi, ei in zip(observed, expected, strict=True):
        o, e = o + oi, e + ei
        if e >= 20:
            obs_bins.append(o)
            exp_bins.append(e)
            o = e = 0.0
    obs_bins[-1] += o
    exp_bins[-1] += e
    return float(stats.chisquare(obs_bins, exp_bins).pvalue)


@pytest.mark.parametrize("mu", [0.3, 2.0, 9.99, 10.0, 37.5, 400.0])
def test_poisson_draws_follow_the_poisson_law(mu: float) -> None:
    draws = np.array([ds.poisson(_key(7, t), mu) for t in range(DRAWS)])
    top = int(stats.poisson.ppf(0.9999, mu)) + 1
    pmf = stats.poisson.pmf(np.arange(top), mu)
    pmf[-1] += stats.poisson.sf(top - 1, mu)
    assert _chi_square_p(draws, pmf) > 1e-4


@pytest.mark.parametrize(("mu", "k"), [(20.0, 2.0), (3.0, 0.5), (150.0, 8.0)])
def test_negative_binomial_draws_follow_their_law(mu: float, k: float) -> None:
    draws = np.array([ds.lane_demand(11, t, 5, mu, ds.NEGATIVE_BINOMIAL, k, 0.0) for t in range(DRAWS)])
    p = k / (k + mu)
    top = int(stats.nbinom.ppf(0.9999, k, p)) + 1
    pmf = stats.nbinom.pmf(np.arange(top), k, p)
    pmf[-1] += stats.nbinom.sf(top - 1, k, p)
    assert _chi_square_p(draws, pmf) > 1e-4


def test_normal_draws_are_rounded_normals_cut_at_zero() -> None:
    mu, cv = 20.0, 0.3
    draws = np.array([ds.lane_demand(3, t, 2, mu, ds.NORMAL, 1.0, cv) for t in range(DRAWS)])
    edges = np.arange(0, 61) + 0.5  # value v stands for the interval (v - 0.5, v + 0.5]
    cdf = stats.norm.cdf(edges, mu, mu * cv)
    pmf = np.diff(np.concatenate([[0.0], cdf]))
    pmf[-1] += 1 - cdf[-1]
    assert _chi_square_p(draws, pmf) > 1e-4
    assert draws.min() >= 0


def test_gamma_draws_follow_the_gamma_law() -> None:
    for shape in (0.4, 3.0):
        draws = [ds.gamma(_key(5, t), shape) for t in range(DRAWS)]
        assert stats.kstest(draws, stats.gamma(shape).cdf).pvalue > 1e-4


def test_uniforms_are_uniform_and_keys_independent() -> None:
    u = np.array([ds.uniform(_key(1, t), 0) for t in range(DRAWS)])
    assert ((u > 0) & (u < 1)).all()
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    next_period = np.array([ds.uniform(_key(1, t + 1), 0) for t in range(DRAWS)])
    next_lane = np.array([ds.uniform(_key(1, t, 1), 0) for t in range(DRAWS)])
    next_seed = np.array([ds.uniform(_key(2, t), 0) for t in range(DRAWS)])
    for other in (next_period, next_lane, next_seed):
        assert abs(np.corrcoef(u, other)[0, 1]) < 4 / np.sqrt(DRAWS)  # 4 standard errors


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**40), period=st.integers(0, 10_000), lane=st.integers(0, 10_000),
       low=st.integers(0, 20), span=st.integers(0, 20))
def test_a_draw_depends_on_its_key_alone(seed: int, period: int, lane: int, low: int, span: int) -> None:
    first = ds.lane_demand(seed, period, lane, 12.5, ds.POISSON, 1.0, 0.0)
    ds.lane_demand(seed + 1, period, lane, 3.0, ds.NEGATIVE_BINOMIAL, 2.0, 0.0)  # another key between
    assert ds.lane_demand(seed, period, lane, 12.5, ds.POISSON, 1.0, 0.0) == first
    value = ds.uniform_int(seed, ds.LEAD, period, low, low + span)
    assert low <= value <= low + span
    assert ds.stream_key(seed, ds.DEMAND, period, lane) != ds.stream_key(seed, ds.DEMAND, period, lane + 1)
    assert ds.stream_key(seed, ds.DEMAND, period, lane) != ds.stream_key(seed, ds.FORECAST, period, lane)


def test_every_value_of_a_uniform_whole_number_is_drawn_equally_often() -> None:
    counts = np.bincount([ds.uniform_int(9, ds.LEAD, t, 3, 7) for t in range(5000)], minlength=8)[3:]
    assert stats.chisquare(counts).pvalue > 1e-4


def test_an_episode_is_its_per_period_draws_lane_by_lane() -> None:
    """The whole-episode sample (used by bounds, DP checks and replays) is the per-lane, per-period draw
    with lanes numbered location-major, then SKU, then channel."""
    net = Network.compile(load_scenario("retail-small"))
    profile = DemandProfile.build(net)
    episode = sample_episode(profile, net, 123)
    n_l, n_s, n_c = net.n_locations, net.n_skus, net.n_channels
    for t in (0, 17, net.periods - 1):
        for loc in range(n_l):
            for k in range(n_s):
                for c in range(n_c):
                    lane = (loc * n_s + k) * n_c + c
                    want = ds.lane_demand(123, t, lane, profile.mean[t, loc, k, c],
                                          int(profile.distribution[loc, k, c]), profile.dispersion[loc, k, c],
                                          profile.cv[loc, k, c])
                    assert episode.demand[t, loc, k, c] == want
