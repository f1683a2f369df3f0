"""Customer orders of one period: the aggregated draw split into timed orders.

Each lane's total for the period is exactly the engine's pre-sampled ``demand`` (common
random numbers), so both modes see the same customers. The split and the arrival times
come from a generator seeded by the episode seed and advanced to the period alone: deterministic per seed,
independent of the aggregated draw and of every decision, and the same after
``set_state``. Arrival times given the count are a Poisson process: sorted uniforms,
warped by the channel's time-of-day profile when it has one.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from allocsim.core.limits import MAX_ORDERS_PER_PERIOD
from allocsim.envs.network import Network
from allocsim.envs.scenario.timing import ChannelTiming

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
#: A constant mixed into the order generator's seed, so it is a stream of its own.
ORDER_STREAM = 0x0E7E475
#: The latest time of day an order may carry (arrivals lie in [0, 1)).
LAST_INSTANT = float(np.nextafter(1.0, 0.0))


class LocationOrders(NamedTuple):
    """One location's orders of a period, by arrival time (fractions of the period)."""

    time: list[float]
    sku: list[int]
    channel: list[int]
    units: list[int]


class OrderSplitter:
    """Splits a period's lane totals into timed orders, per the scenario's ``timing.channels``."""

    def __init__(self, net: Network) -> None:
        timing = net.scenario.timing
        names = [c.name for c in net.scenario.channels]
        spec = [timing.channels.get(name, ChannelTiming()) for name in names]
        self.size_range = [(c.order_size.low, c.order_size.high) for c in spec]
        self.unit_orders = np.array([lo == hi == 1 for lo, hi in self.size_range])
        self.low = np.array([lo for lo, _ in self.size_range], dtype=np.int64)
        # one generator, re-seeded per period: its state for the episode seed, advanced by the period
        self._bits = np.random.PCG64(0)
        self._rng = np.random.Generator(self._bits)
        self._seeded: tuple[int, dict[str, object]] | None = None
        # inverse CDF of each channel's profile: (cumulative share, time of day) knots, or None
        self.warp: list[tuple[FloatArray, FloatArray] | None] = []
        for c in spec:
            if c.profile is None:
                self.warp.append(None)
                continue
            weights = np.asarray(c.profile, dtype=np.float64)
            share = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
            self.warp.append((share, np.linspace(0.0, 1.0, len(weights) + 1)))

    def split(self, demand: IntArray, seed: int, period: int) -> list[LocationOrders]:
        """Orders of every location from ``demand`` (L, S, C), the period's aggregated draw."""
        rng = self._generator(seed, period)
        n_l = demand.shape[0]
        locs, skus, channels = np.nonzero(demand)
        counts = demand[locs, skus, channels]
        if int((counts // self.low[channels]).sum()) > MAX_ORDERS_PER_PERIOD:  # before allocating them
            raise ValueError(f"events mode: {int(demand.sum())} units demanded in one period make more than "
                             f"{MAX_ORDERS_PER_PERIOD:,} orders; raise timing.channels order_size")
        unit = self.unit_orders[channels]
        # unit-sized orders: one per unit of the lane; sized ones: drawn lane by lane
        parts = [[np.repeat(x[unit], counts[unit]) for x in (locs, skus, channels)]
                 + [np.ones(int(counts[unit].sum()), dtype=np.int64)]]
        for lane in np.flatnonzero(~unit).tolist():
            sizes = self._sizes(int(counts[lane]), int(channels[lane]), rng)
            parts.append([np.full(len(sizes), x[lane], dtype=np.int64) for x in (locs, skus, channels)]
                         + [sizes])
        loc, sku, channel, units = (np.concatenate(column) for column in zip(*parts, strict=True))
        time = rng.random(len(units))
        for c, warp in enumerate(self.warp):
            if warp is not None:
                mine = channel == c
                time[mine] = np.interp(time[mine], warp[0], warp[1])
        np.minimum(time, LAST_INSTANT, out=time)
        order = np.lexsort((time, loc))  # by location, then by arrival time
        bounds = np.searchsorted(loc[order], np.arange(n_l + 1)).tolist()
        times, sku_list, channel_list, unit_list = (x[order].tolist() for x in (time, sku, channel, units))
        return [LocationOrders(times[a:b], sku_list[a:b], channel_list[a:b], unit_list[a:b])
                for a, b in itertools.pairwise(bounds)]

    def _generator(self, seed: int, period: int) -> np.random.Generator:
        """The period's generator: PCG64 seeded by (episode seed, ORDER_STREAM), advanced by
        ``period`` x 2**64 draws, so each period has a stream of its own whatever ran before."""
        if self._seeded is None or self._seeded[0] != seed:
            start = np.random.PCG64(np.random.SeedSequence([seed, ORDER_STREAM])).state
            self._seeded = (seed, start)
        self._bits.state = self._seeded[1]
        self._bits.advance(period << 64)
        return self._rng

    def _sizes(self, units: int, channel: int, rng: np.random.Generator) -> IntArray:
        """Order sizes of one lane summing to ``units`` (the last order takes what is left)."""
        low, high = self.size_range[channel]
        draws = rng.integers(low, high + 1, size=units // low + 1)
        cum = np.cumsum(draws)
        last = int(np.searchsorted(cum, units))
        sizes = draws[: last + 1].copy()
        sizes[last] = units - (int(cum[last - 1]) if last else 0)
        return sizes
