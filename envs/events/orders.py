"""Customer orders of one period: the aggregated draw split into timed orders.

Each lane's total for the period is exactly the engine's pre-sampled ``demand`` (common
random numbers), so both modes see the same customers. The split and the arrival times
come from a generator seeded by (episode seed, period) alone: deterministic per seed,
independent of the aggregated draw and of every decision, and the same after
``set_state``. Arrival times given the count are a Poisson process: sorted uniforms,
warped by the channel's time-of-day profile when it has one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.network import Network
from allocsim.envs.scenario.timing import ChannelTiming
from allocsim.limits import MAX_ORDERS_PER_PERIOD

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
#: A constant mixed into the order generator's seed, so it is a stream of its own.
ORDER_STREAM = 0x0E7E475
#: The latest time of day an order may carry (arrivals lie in [0, 1)).
LAST_INSTANT = float(np.nextafter(1.0, 0.0))


@dataclass(frozen=True)
class LocationOrders:
    """One location's orders of a period, by arrival time (fractions of the period)."""

    time: list[float]
    sku: list[int]
    channel: list[int]
    units: list[int]

    def __len__(self) -> int:
        return len(self.time)


class OrderSplitter:
    """Splits a period's lane totals into timed orders, per the scenario's ``timing.channels``."""

    def __init__(self, net: Network) -> None:
        timing = net.scenario.timing
        names = [c.name for c in net.scenario.channels]
        spec = [timing.channels.get(name, ChannelTiming()) for name in names]
        self.size_range = [(c.order_size.low, c.order_size.high) for c in spec]
        self.unit_orders = np.array([lo == hi == 1 for lo, hi in self.size_range])
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
        total_units = int(demand.sum())
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, period, ORDER_STREAM])))
        return [self._location(demand[loc], rng, total_units) for loc in range(demand.shape[0])]

    def _sizes(self, units: int, channel: int, rng: np.random.Generator) -> IntArray:
        """Order sizes of one lane summing to ``units`` (the last order takes what is left)."""
        low, high = self.size_range[channel]
        draws = rng.integers(low, high + 1, size=units // low + 1)
        cum = np.cumsum(draws)
        last = int(np.searchsorted(cum, units))
        sizes = draws[: last + 1].copy()
        sizes[last] = units - (int(cum[last - 1]) if last else 0)
        return sizes

    def _location(self, lanes: IntArray, rng: np.random.Generator, total_units: int) -> LocationOrders:
        skus, channels = np.nonzero(lanes)
        if not len(skus):
            return LocationOrders([], [], [], [])
        counts = lanes[skus, channels]
        unit = self.unit_orders[channels]
        low = np.array([self.size_range[c][0] for c in channels.tolist()])
        if int((counts // low).sum()) > MAX_ORDERS_PER_PERIOD:  # checked before anything is allocated
            raise ValueError(f"events mode: {total_units} units demanded in one period make more than "
                             f"{MAX_ORDERS_PER_PERIOD:,} orders at a location; raise timing.channels "
                             "order_size")
        # unit-sized orders: one per unit of the lane; sized ones: drawn lane by lane
        parts_k, parts_c = [np.repeat(skus[unit], counts[unit])], [np.repeat(channels[unit], counts[unit])]
        parts_units = [np.ones(int(counts[unit].sum()), dtype=np.int64)]
        for k, c, units in zip(skus[~unit].tolist(), channels[~unit].tolist(), counts[~unit].tolist(),
                               strict=True):
            sizes = self._sizes(units, c, rng)
            parts_k.append(np.full(len(sizes), k, dtype=np.int64))
            parts_c.append(np.full(len(sizes), c, dtype=np.int64))
            parts_units.append(sizes)
        sku, channel, units = np.concatenate(parts_k), np.concatenate(parts_c), np.concatenate(parts_units)
        time = rng.random(len(units))
        for c in np.unique(channel).tolist():
            warp = self.warp[c]
            if warp is not None:
                mine = channel == c
                time[mine] = np.interp(time[mine], warp[0], warp[1])
        np.minimum(time, LAST_INSTANT, out=time)
        order = np.argsort(time, kind="stable")
        return LocationOrders(time[order].tolist(), sku[order].tolist(), channel[order].tolist(),
                              units[order].tolist())
