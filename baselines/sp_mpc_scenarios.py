"""Demand scenarios for ``sp-mpc``: S sampled futures of H periods from the forecast the policy sees.

What: each lane's rate for period ``t + h`` is the forecast of its location and SKU (de-biased by
the scenario's known forecast bias, extended past the forecast horizon by the horizon's mean
rate) split over channels by the demand model's channel mix of that period, times a lognormal
forecast error with the scenario's ``noise_cv``; demand is then drawn from the lane's own
distribution (Poisson, negative binomial, normal) with the sampler the simulator uses
(``allocsim.envs.demand``). Orders of advance-notice channels that are already known
(``state.known_orders``, period by period) replace the draws inside their notice window. Waiting
backorders are served first, as the engine serves them: from the stock on hand now, and what that
cannot serve joins the next period's demand.

Why: the lookahead must never see the episode's own future. Its draws come from their own
stream keyed by (episode seed, period) -- never the episode's demand stream -- so two policies
deciding on the same seed and period plan against the same sampled futures (common random
numbers), and a changed episode future cannot change a decision.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.demand import DemandProfile, _draw
from allocsim.envs.network import Network
from allocsim.envs.scenario.entities import UniformLeadTime
from allocsim.envs.state import AllocationState

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: first word of the lookahead's spawn key: keeps its streams apart from the episode's own
#: (``SeedSequence(seed).spawn`` uses keys (0,), (1,), (2,))
SP_STREAM = 0x5350


def scenario_rng(seed: int, period: int) -> np.random.Generator:
    """The lookahead's own generator for (episode seed, period), independent of the demand stream."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(SP_STREAM, period))))


def channel_mix(profile: DemandProfile, net: Network, period: int, horizon: int) -> FloatArray:
    """Share of each channel in a location's demand (H, L, S, C) in periods ``period ..``, from the model."""
    mean = profile.mean[period : period + horizon]
    total = mean.sum(axis=3, keepdims=True)
    equal = net.serves[:, None, :] / np.maximum(net.serves.sum(axis=1), 1)[:, None, None]
    return np.where(total > 0, mean / np.where(total > 0, total, 1.0), equal[None])


def forecast_rates(forecast: FloatArray, horizon: int, bias: float) -> FloatArray:
    """Expected units per period (H, L, S): the forecast rows, then the rows' mean beyond them."""
    rows = forecast[:horizon]
    if rows.shape[0] < horizon:
        extra = np.broadcast_to(forecast.mean(axis=0), (horizon - rows.shape[0], *forecast.shape[1:]))
        rows = np.concatenate([rows, extra])
    return rows / (1.0 + bias)


def known_orders(state: AllocationState, horizon: int) -> tuple[FloatArray, FloatArray]:
    """Orders of advance-notice channels already known, by lookahead period (H, L, S, C), and where they
    replace the draws: each such channel's lanes within its notice window.

    They are the state's ``known_orders``, period by period as announced (the engine's one reading of
    them), so a due that lands on one day of the window is planned on that day, not spread over it.
    """
    net = state.net
    shape = (horizon, net.n_locations, net.n_skus, net.n_channels)
    window = np.arange(horizon)[:, None] <= net.advance_notice[None, :]  # (H, C)
    notice = (net.advance_notice > 0)[None, :] & window
    where = np.broadcast_to(notice[:, None, None, :] & net.serves[None, :, None, :], shape)
    known = np.zeros(shape)
    if not notice.any():
        return known, where
    if state.known_orders is None:
        raise ValueError("sp-mpc needs the state's known orders (AllocationState.of reads them)")
    rows = min(state.known_orders.shape[0], horizon)
    known[:rows] = state.known_orders[:rows]
    return known, where


def sample_demand(
    state: AllocationState, profile: DemandProfile, horizon: int, count: int, rng: np.random.Generator
) -> FloatArray:
    """``count`` demand scenarios (W, H, L, S, C) for the next ``horizon`` periods (see the module)."""
    net = state.net
    spec = net.scenario.forecast
    rate = forecast_rates(state.forecast, horizon, spec.bias)
    sigma = math.sqrt(math.log1p(spec.noise_cv**2))
    shape = (count, *rate.shape)
    error = rng.lognormal(-0.5 * sigma**2, sigma, size=shape) if sigma else np.ones(shape)
    lanes = (rate[None] * error)[..., None] * channel_mix(profile, net, state.period, horizon)[None]
    model = DemandProfile(mean=lanes.reshape(count * horizon, *lanes.shape[2:]),
                          distribution=profile.distribution, dispersion=profile.dispersion, cv=profile.cv,
                          replay=None)
    own_seed = int(rng.integers(2**62))  # the simulator's sampler, keyed by the lookahead's own stream
    demand = _draw(model, count * horizon, own_seed).reshape(lanes.shape).astype(np.float64)
    known, where = known_orders(state, horizon)
    demand = np.where(where[None], known[None], demand)
    if horizon > 1:  # what the stock on hand cannot serve now waits for the next receipts
        demand[:, 1] += waiting_after_now(state)
    return demand


def waiting_after_now(state: AllocationState) -> FloatArray:
    """Backorders (L, S, C) the stock on hand cannot serve now: the engine serves waiting backorders
    before new demand, so the stock on hand goes to them first (``served_backlog``), and the rest waits
    for the next period's receipts."""
    waiting = state.backlog.sum(axis=2)
    share = np.where(waiting > 0, served_backlog(state) / np.maximum(waiting, 1), 0.0)
    return state.backlog * (1.0 - share)[..., None]


def served_backlog(state: AllocationState) -> FloatArray:
    """Units (L, S) of the stock on hand that go to waiting backorders this period."""
    return np.minimum(state.on_hand, state.backlog.sum(axis=2)).astype(np.float64)


def sample_leads(net: Network, horizon: int, count: int, rng: np.random.Generator) -> IntArray:
    """Supplier lead time (W, H) of an order placed in each lookahead period, per scenario."""
    lead = net.scenario.supplier.lead_time
    if isinstance(lead, UniformLeadTime):
        return rng.integers(lead.low, lead.high + 1, size=(count, horizon)).astype(np.int64)
    return np.full((count, horizon), lead.periods, dtype=np.int64)
