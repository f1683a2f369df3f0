"""An episode's inputs drawn period by period inside the kernel: demand, forecasts, supplier leads.

A copy holds no episode arrays: only rings of the periods it can see (demand for the
period and the advance-notice window, ``demand_ring``; forecasts for the forecast
horizon, ``forecast_ring``), refilled one period at a time as the episode advances.
Every number is a draw of demand stream 2 (``allocsim.envs.demand_stream``) keyed by
the copy's seeds, so these are exactly the values ``allocsim.envs.demand.sample_episode``
materialises for bounds and checks. Demand and supplier leads follow ``demand_seed``
(the episode seed, or a sampled future's in rollouts); forecasts follow the episode ``seed``.
"""

from __future__ import annotations

import numpy as np

from allocsim.envs.demand_stream import (
    BLOCK,
    DEMAND,
    FORECAST,
    LEAD,
    keyed_demand,
    keyed_noise,
    lane_key,
    period_key,
    uniform_int,
)
from allocsim.envs.engine.jit import inline_kernel, inner_kernel
from allocsim.envs.engine.params import EngineParams
from allocsim.envs.engine.state import EngineState

#: ``EngineParams.replay_mode``: drawn from the demand model, a history replayed as is, or a
#: weekday-aligned block bootstrap of it (``allocsim.envs.history_resample``).
MODEL, REPLAY, BOOTSTRAP = 0, 1, 2
_WEEK = 7
_SMOOTH_HALF = 3  # the forecaster's centred moving average (``allocsim.envs.demand._smoothed_rates``)


@inline_kernel
def _bootstrap_period(block_length: int, periods: int, seed: int, t: int) -> int:
    """The history period a bootstrapped episode on ``seed`` replays in period ``t`` (``p.block_length``,
    ``p.periods``)."""
    j = t // block_length
    target = j * block_length
    length = min(block_length, periods - target)
    weekday = target % _WEEK
    count = (periods - length - weekday) // _WEEK + 1
    return weekday + _WEEK * uniform_int(seed, np.int64(BLOCK), j, np.int64(0), count - 1) + (t - target)


@inline_kernel
def _bootstrap_rate(replay, block_length: int, periods: int, seed: int, t: int, loc: int,  # type: ignore[no-untyped-def]
                    k: int) -> float:
    """The forecaster's rate of a bootstrapped path of history ``replay`` (``p.replay``): its centred
    7-period mean, summed over channels."""
    last = periods - 1
    t = min(t, last)  # past the end the last period's rate carries on
    total = 0.0
    for c in range(replay.shape[3]):
        units = 0
        for q in range(t - _SMOOTH_HALF, t + _SMOOTH_HALF + 1):
            units += replay[_bootstrap_period(block_length, periods, seed, min(max(q, 0), last)), loc, k, c]
        total += units / (2 * _SMOOTH_HALF + 1)
    return total


@inline_kernel
def supplier_lead(low: int, high: int, seed: int, t: int) -> int:
    """The supplier lead time of an order placed in period ``t`` by a copy of demand seed ``seed``
    (``EngineParams.lead_low`` .. ``lead_high``)."""
    if low == high:
        return low
    return uniform_int(seed, np.int64(LEAD), t, low, high)


@inline_kernel
def draw_demand(p: EngineParams, s: EngineState, b: int, t: int) -> None:
    """Period ``t``'s demand of copy ``b`` into its ring slot (nothing past the last period): the units
    of every (location, SKU, channel) lane (``allocsim.envs.demand_stream.lane_demand``), a replayed
    history's, or a bootstrapped block's.

    Every field is read before the first branch (``allocsim.envs.engine.jit``: a tuple read inside
    the lane loop made the draws three times slower), the key's part shared by all lanes of the
    period is mixed once (``period_key``) and a Poisson inversion starts from its tabled ``exp(-mean)``
    (``p.poisson_start``): the same keys and numbers, the same draws."""
    periods, replay_mode, replay, block_length = p.periods, p.replay_mode, p.replay, p.block_length
    mean, code, dispersion, cv = p.demand_mean, p.demand_code, p.demand_dispersion, p.demand_cv
    poisson_start = p.poisson_start
    ring, seed = s.demand_ring[b], s.demand_seed[b]
    if t >= periods:
        return
    n_l, n_s, n_c = code.shape[0], code.shape[1], code.shape[2]
    out = ring[t % ring.shape[0]]
    if replay_mode != MODEL:
        source = t if replay_mode == REPLAY else _bootstrap_period(block_length, periods, seed, t)
        for loc in range(n_l):
            for k in range(n_s):
                for c in range(n_c):
                    out[loc, k, c] = replay[source, loc, k, c]
        return
    prefix = period_key(seed, np.int64(DEMAND), t)  # int64, not a literal: one period_key for all purposes
    for loc in range(n_l):
        for k in range(n_s):
            for c in range(n_c):
                key = lane_key(prefix, (loc * n_s + k) * n_c + c)
                out[loc, k, c] = keyed_demand(key, mean[t, loc, k, c], poisson_start[t, loc, k, c],
                                              code[loc, k, c], dispersion[loc, k, c], cv[loc, k, c])


@inline_kernel
def draw_forecast(p: EngineParams, s: EngineState, b: int, t: int) -> None:
    """Period ``t``'s forecast of copy ``b`` into its ring slot: per (location, SKU), the forecaster's
    rate (a bootstrapped path's smoothed rate) x the bias x lognormal noise keyed by the episode ``seed``
    (``allocsim.envs.demand_stream.forecast_noise``); fields read first, as in ``draw_demand``."""
    replay_mode, replay, block_length, periods = p.replay_mode, p.replay, p.block_length, p.periods
    forecast_mean, bias, sigma = p.forecast_mean, p.forecast_bias, p.forecast_sigma
    n_l, n_s = p.demand_code.shape[0], p.demand_code.shape[1]
    ring, seed = s.forecast_ring[b], s.seed[b]
    out = ring[t % ring.shape[0]]
    prefix = period_key(seed, np.int64(FORECAST), t)
    for loc in range(n_l):
        for k in range(n_s):
            if replay_mode == BOOTSTRAP:
                rate = _bootstrap_rate(replay, block_length, periods, seed, t, loc, k)
            else:
                rate = forecast_mean[t, loc, k]
            noise = 1.0 if sigma <= 0.0 else keyed_noise(lane_key(prefix, loc * n_s + k), sigma)
            out[loc, k] = rate * bias * noise


#: What ``refresh`` draws: a fresh episode's rings, the demand ring again (a new demand seed), or
#: the periods that come into sight after a move from period ``s.period[b] - 1``.
FILL, REDRAW_DEMAND, ADVANCE = 0, 1, 2


@inner_kernel  # the one entry the period kernel calls (not inlined there): one compiled body for all draws
def refresh(p: EngineParams, s: EngineState, b: int, what: int) -> None:
    """Draw what copy ``b``'s rings need now (``FILL``, ``REDRAW_DEMAND`` or ``ADVANCE``).

    Each case is a span of periods for each ring, so ``draw_demand`` and ``draw_forecast`` are
    inlined once each (one copy per case had twice the code and three times the compile time)."""
    t = s.period[b]
    span, horizon = s.demand_ring.shape[1], s.forecast_ring.shape[1]
    if what == ADVANCE:  # moved from period t - 1 to t: the period each ring now reaches
        demand_from, forecast_from, forecast_to = t - 1 + span, t - 1 + horizon, t + horizon
    else:  # from the period on: the period and the notice window (and, FILL, the forecast horizon)
        demand_from, forecast_from = t, t
        forecast_to = t + horizon if what == FILL else t
    for q in range(demand_from, t + span):
        draw_demand(p, s, b, q)
    for q in range(forecast_from, forecast_to):
        draw_forecast(p, s, b, q)
