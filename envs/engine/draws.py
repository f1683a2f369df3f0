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

from allocsim.envs.demand_stream import BLOCK, LEAD, forecast_noise, lane_demand, uniform_int
from allocsim.envs.engine.jit import inline_kernel, inner_kernel
from allocsim.envs.engine.params import EngineParams
from allocsim.envs.engine.state import EngineState

#: ``EngineParams.replay_mode``: drawn from the demand model, a history replayed as is, or a
#: weekday-aligned block bootstrap of it (``allocsim.envs.history_resample``).
MODEL, REPLAY, BOOTSTRAP = 0, 1, 2
_WEEK = 7
_SMOOTH_HALF = 3  # the forecaster's centred moving average (``allocsim.envs.demand._smoothed_rates``)


@inline_kernel
def _bootstrap_period(p: EngineParams, seed: int, t: int) -> int:
    """The history period a bootstrapped episode on ``seed`` replays in period ``t``."""
    length_of_block = p.block_length
    j = t // length_of_block
    target = j * length_of_block
    length = min(length_of_block, p.periods - target)
    weekday = target % _WEEK
    count = (p.periods - length - weekday) // _WEEK + 1
    return weekday + _WEEK * uniform_int(seed, BLOCK, j, 0, count - 1) + (t - target)


@inline_kernel
def lane_units(p: EngineParams, seed: int, t: int, loc: int, k: int, c: int) -> int:
    """Units asked in period ``t`` at (location, SKU, channel) in an episode whose demand seed is ``seed``."""
    if p.replay_mode == REPLAY:
        return p.replay[t, loc, k, c]
    if p.replay_mode == BOOTSTRAP:
        return p.replay[_bootstrap_period(p, seed, t), loc, k, c]
    n_s, n_c = p.demand_code.shape[1], p.demand_code.shape[2]
    return lane_demand(seed, t, (loc * n_s + k) * n_c + c, p.demand_mean[t, loc, k, c],
                       p.demand_code[loc, k, c], p.demand_dispersion[loc, k, c], p.demand_cv[loc, k, c])


@inline_kernel
def _bootstrap_rate(p: EngineParams, seed: int, t: int, loc: int, k: int) -> float:
    """The forecaster's rate of a bootstrapped path: its centred 7-period mean, summed over channels."""
    last = p.periods - 1
    t = min(t, last)  # past the end the last period's rate carries on
    total = 0.0
    for c in range(p.demand_code.shape[2]):
        units = 0
        for q in range(t - _SMOOTH_HALF, t + _SMOOTH_HALF + 1):
            units += p.replay[_bootstrap_period(p, seed, min(max(q, 0), last)), loc, k, c]
        total += units / (2 * _SMOOTH_HALF + 1)
    return total


@inline_kernel
def forecast_rate(p: EngineParams, seed: int, t: int, loc: int, k: int) -> float:
    """The forecast the policy sees for period ``t`` at (location, SKU) in the episode on ``seed``."""
    rate = _bootstrap_rate(p, seed, t, loc, k) if p.replay_mode == BOOTSTRAP else p.forecast_mean[t, loc, k]
    lane = loc * p.demand_code.shape[1] + k
    return rate * p.forecast_bias * forecast_noise(seed, t, lane, p.forecast_sigma)


@inline_kernel
def supplier_lead(low: int, high: int, seed: int, t: int) -> int:
    """The supplier lead time of an order placed in period ``t`` by a copy of demand seed ``seed``
    (``EngineParams.lead_low`` .. ``lead_high``)."""
    if low == high:
        return low
    return uniform_int(seed, LEAD, t, low, high)


@inline_kernel
def draw_demand(p: EngineParams, s: EngineState, b: int, t: int) -> None:
    """Period ``t``'s demand of copy ``b`` into its ring slot (nothing past the last period)."""
    if t >= p.periods:
        return
    slot = t % s.demand_ring.shape[1]
    seed = s.demand_seed[b]
    n_l, n_s, n_c = p.demand_code.shape[0], p.demand_code.shape[1], p.demand_code.shape[2]
    for loc in range(n_l):
        for k in range(n_s):
            for c in range(n_c):
                s.demand_ring[b, slot, loc, k, c] = lane_units(p, seed, t, loc, k, c)


@inline_kernel
def draw_forecast(p: EngineParams, s: EngineState, b: int, t: int) -> None:
    """Period ``t``'s forecast of copy ``b`` into its ring slot."""
    slot = t % s.forecast_ring.shape[1]
    for loc in range(p.demand_code.shape[0]):
        for k in range(p.demand_code.shape[1]):
            s.forecast_ring[b, slot, loc, k] = forecast_rate(p, s.seed[b], t, loc, k)


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
