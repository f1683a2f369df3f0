"""How a scenario's state is laid out: transit rows per location, and the width of the unit cells.

Two choices keep a copy's state small (retail-medium: 81 KB -> 37 KB) without changing a result:

- **Transit rows per location.** Units in transit to a location wait in the ring slot of their
  arrival period, and a location needs only as many slots as periods a shipment to it can be on
  the way: its reach (the longest of its lead time and of every lane's lead plus approval delay
  into it), one more when its receipts come late in the period (events timing: a late node books
  a period's arrivals after that period's dispatch, so the slot a shipment of the full reach
  would reuse is still full). Location ``l`` owns rows ``start[l] .. start[l] + slots[l] - 1`` of
  ``EngineState.transit``, the arrivals of period ``p`` in row ``start[l] + p % slots[l]``; a
  location reached at once (lead 0) owns none.
- **32-bit unit cells.** Stock cohorts (DC and locations), transit, the supplier pipeline and
  backorders by age are int32 when no cell can ever exceed 2**31 - 1 units: a stock cell holds
  at most the units of its SKU that can ever enter the network (initial stock + inbound schedule
  + periods x the largest order a period can place), a backorder cell at most one period's
  demand of its lane, which is bounded by what the demand stream's samplers can return from
  their 53-bit uniforms (``draw_bound``). A scenario beyond that (the schema allows up to 1e12
  units of a SKU) keeps int64 cells: same results, a larger state, and its own compiled kernels.
  Totals, counters and demand stay int64 everywhere.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.demand import DemandProfile
from allocsim.envs.demand_stream import NEGATIVE_BINOMIAL, NORMAL, POISSON
from allocsim.envs.network import Network
from allocsim.envs.replenishment import order_thresholds

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
#: The most units a 32-bit cell holds.
INT32_MAX = int(np.iinfo(np.int32).max)
#: |z| of a Box-Muller normal from uniforms no smaller than 2**-54 (sqrt(2 x 54 ln 2) = 8.65), rounded up.
_Z_MAX = 9.0


def transit_layout(net: Network) -> tuple[IntArray, IntArray]:
    """(first row, rows) of each location's arrivals in ``EngineState.transit`` (L,) each."""
    reach = net.lead_time.astype(np.int64).copy()
    for q in range(net.n_lanes):
        dst = int(net.lane_target[q])
        reach[dst] = max(reach[dst], int(net.lane_lead[q] + net.lane_delay[q]))
    timing = net.scenario.timing
    late = np.array([timing.mode == "events" and timing.location_arrival.get(name, 0.0) > 0.0
                     for name in net.locations], dtype=bool)
    slots = np.where(reach > 0, reach + late, 0).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(slots)[:-1]]).astype(np.int64)
    return start, slots


def poisson_bound(rate: FloatArray) -> FloatArray:
    """More than any count the stream's Poisson sampler returns for ``rate``: inversion (rate < 10) stops
    by ~310; a transformed-rejection draw is accepted only within ~16 sqrt(rate) + 88 of the rate."""
    return rate + 20.0 * np.sqrt(np.maximum(rate, 0.0)) + 1000.0


def draw_bound(mean: FloatArray, code: IntArray, dispersion: FloatArray, cv: FloatArray) -> FloatArray:
    """More than any one draw of a lane of peak expected demand ``mean`` can be (its distribution's
    sampler in ``allocsim.envs.demand_stream``, from uniforms in [2**-54, 1]); arrays of one shape."""
    # negative binomial: Poisson of a Gamma(k, mean / k) rate, Marsaglia-Tsang's d (1 + c z)^3 at most
    shape = np.where(dispersion < 1.0, dispersion + 1.0, dispersion)
    d = np.maximum(shape - 1.0 / 3.0, 1e-300)
    gamma_most = d * (1.0 + _Z_MAX / (3.0 * np.sqrt(d))) ** 3
    bound = np.select(
        [code == POISSON, code == NEGATIVE_BINOMIAL, code == NORMAL],
        [poisson_bound(mean), poisson_bound(gamma_most * mean / np.maximum(dispersion, 1e-300)),
         mean * (1.0 + cv * _Z_MAX) + 1.0],
        default=np.inf,  # an unknown distribution: no bound, so int64
    )
    return np.where(mean > 0.0, bound, 0.0)


def most_units_per_cell(net: Network, profile: DemandProfile) -> float:
    """The most units one stock, transit, pipeline or backorder cell of this scenario can hold."""
    _, up_to = order_thresholds(net)
    per_period = np.minimum(net.max_order + np.maximum(up_to, 0), net.supplier_capacity)
    entering = (net.initial_dc_stock + net.initial_location_stock.sum(axis=0)
                + net.planned_receipts.sum(axis=0) + net.periods * per_period)
    most = float(entering.max(initial=0))
    if profile.replay is not None:
        return max(most, float(np.max(profile.replay, initial=0)))
    peak = profile.mean.max(axis=0, initial=0.0)  # (L, S, C) the peak expected demand of each lane
    bounds = draw_bound(peak, profile.distribution, profile.dispersion, profile.cv)
    return max(most, float(bounds.max(initial=0.0)))


def cell_bits(net: Network, profile: DemandProfile) -> int:
    """32 when every unit cell of the scenario fits int32 (``most_units_per_cell``), else 64."""
    return 32 if most_units_per_cell(net, profile) <= INT32_MAX else 64
