"""The flat, normalised observation and its documented layout.

Unit quantities are divided by a week of expected demand (per SKU for DC blocks,
per location and SKU for location blocks), so 1.0 reads "a week of cover";
everything is clipped to ``[-1, OBS_CLIP]``. Blocks, in order:

========================  ======  ==================================================
block                     shape   meaning
========================  ======  ==================================================
``dc_on_hand``            S       units at the DC
``dc_available``          S       available to allocate (on hand - safety reserve)
``dc_on_order``           S       supplier orders and planned receipts not yet in
``on_hand``               L x S   units at each location
``inbound``               L x S   units in transit to each location
``forecast_now``          L x S   forecast demand this period (x 7)
``forecast_horizon``      L x S   mean forecast over the forecast horizon (x 7)
``open_orders``           L x S   orders already known for the coming periods
``backlog``               L x S   backorders waiting
``avg_age``               L x S   mean age of stock / oldest tracked age
``calendar``              5       t / T, sin and cos of weekday, sin and cos of day of year
========================  ======  ==================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from allocsim.envs.demand import DemandProfile
from allocsim.envs.network import Network

if TYPE_CHECKING:
    from allocsim.envs.model import SupplyChainModel

OBS_CLIP = 10.0
WEEK = 7.0


class ObservationLayout:
    """Names, shapes and offsets of the observation blocks of one network."""

    def __init__(self, net: Network, profile: DemandProfile) -> None:
        self.net = net
        s, n_l = net.n_skus, net.n_locations
        shapes: list[tuple[str, tuple[int, ...]]] = [
            ("dc_on_hand", (s,)),
            ("dc_available", (s,)),
            ("dc_on_order", (s,)),
        ]
        shapes += [(name, (n_l, s)) for name in (
            "on_hand", "inbound", "forecast_now", "forecast_horizon", "open_orders", "backlog", "avg_age"
        )]
        shapes.append(("calendar", (5,)))
        self.blocks: dict[str, slice] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        offset = 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            self.blocks[name] = slice(offset, offset + size)
            self.shapes[name] = shape
            offset += size
        self.size = offset
        rate = profile.mean[: net.periods].sum(axis=-1).mean(axis=0)  # (L, S)
        self.location_scale = np.maximum(rate, 0.1) * WEEK
        self.dc_scale = np.maximum(rate.sum(axis=0), 0.1) * WEEK
        self.horizon = net.scenario.forecast.horizon
        self.notice = [(c, int(n)) for c, n in enumerate(net.advance_notice) if n > 0]
        self.ages = np.arange(net.age_buckets, dtype=np.float64)

    def space(self) -> spaces.Box:
        return spaces.Box(low=-1.0, high=OBS_CLIP, shape=(self.size,), dtype=np.float32)

    def describe(self) -> list[dict[str, object]]:
        """The layout as data (for docs, export metadata and users)."""
        return [
            {"name": n, "shape": list(self.shapes[n]), "start": sl.start, "stop": sl.stop}
            for n, sl in self.blocks.items()
        ]

    def open_orders(self, demand: NDArray[np.int64], period: int) -> NDArray[np.float64]:
        """Units of advance-notice channels already ordered for this and coming periods."""
        known = np.zeros(demand.shape[1:3])
        for channel, notice in self.notice:
            known += demand[period : period + notice + 1, :, :, channel].sum(axis=0)
        return known

    def build(self, m: SupplyChainModel) -> NDArray[np.float32]:
        """The observation of the model ``m`` now."""
        net = self.net
        t = m.period
        episode = m.episode
        stock = m.stock
        dc_on_hand = m.dc.sum(axis=1)
        on_hand = stock.sum(axis=2)
        forecast = episode.forecast
        age = (stock @ self.ages) / np.maximum(on_hand, 1) / max(net.age_buckets - 1, 1)
        calendar = np.array([
            t / net.periods,
            np.sin(2 * np.pi * t / 7), np.cos(2 * np.pi * t / 7),
            np.sin(2 * np.pi * t / 365), np.cos(2 * np.pi * t / 365),
        ])
        loc = self.location_scale
        parts = [
            dc_on_hand / self.dc_scale,
            np.maximum(dc_on_hand - net.safety_reserve, 0) / self.dc_scale,
            m.on_order / self.dc_scale,
            (on_hand / loc).ravel(),
            (m.inbound / loc).ravel(),
            (forecast[t] * WEEK / loc).ravel(),
            (forecast[t : t + self.horizon].mean(axis=0) * WEEK / loc).ravel(),
            (self.open_orders(episode.demand, t) / loc).ravel() if self.notice else np.zeros(loc.size),
            (m.backlog.sum(axis=(2, 3)) / loc).ravel(),
            age.ravel(),
            calendar,
        ]
        obs = np.concatenate(parts)
        np.clip(obs, -1.0, OBS_CLIP, out=obs)
        return obs.astype(np.float32)
