"""The flat, normalised observation and its documented layout.

Unit quantities are divided by a week of expected demand (per SKU for DC blocks,
per location and SKU for location blocks), so 1.0 reads "a week of cover";
everything is clipped to ``[-1, OBS_CLIP]``. The blocks that depend on the episode's
seed alone are computed here once per episode (``exogenous``); the observation itself
is written by the compiled ``allocsim.envs.engine.kernels.observe``. Blocks, in order:

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

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from allocsim.core.observation_blocks import OBS_HIGH, WEEK, exogenous_rows
from allocsim.envs.demand import DemandProfile, EpisodeDemand
from allocsim.envs.network import Network

OBS_CLIP = OBS_HIGH


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
        self._cached_episode: EpisodeDemand | None = None
        self._cached_blocks = np.zeros((0, 0))

    def space(self) -> spaces.Box:
        return spaces.Box(low=-1.0, high=OBS_CLIP, shape=(self.size,), dtype=np.float32)

    def describe(self) -> list[dict[str, object]]:
        """The layout as data (for docs, export metadata and users)."""
        return [
            {"name": n, "shape": list(self.shapes[n]), "start": sl.start, "stop": sl.stop}
            for n, sl in self.blocks.items()
        ]

    def open_orders(self, demand: NDArray[np.int64], period: int) -> NDArray[np.float64]:
        """Units of advance-notice channels already ordered for ``period`` and the coming periods."""
        return self.open_orders_from(demand, np.array([period]))[0]

    def open_orders_from(self, demand: NDArray[np.int64], periods: NDArray[np.int64]) -> NDArray[np.float64]:
        """``open_orders`` for each of ``periods`` (P, L, S): window sums of each notice channel's demand."""
        known = np.zeros((len(periods), *demand.shape[1:3]))
        for channel, notice in self.notice:
            cumulative = np.zeros((demand.shape[0] + 1, *demand.shape[1:3]), dtype=np.int64)
            np.cumsum(demand[..., channel], axis=0, out=cumulative[1:])
            end = np.minimum(periods + notice + 1, demand.shape[0])
            known += cumulative[end] - cumulative[periods]
        return known

    def exogenous(self, episode: EpisodeDemand) -> NDArray[np.float64]:
        """Forecast, open-order and calendar blocks for every period of an episode, scaled.

        They depend on the episode's seed only, so they are computed once per episode.
        """
        if self._cached_episode is episode:
            return self._cached_blocks
        net = self.net
        periods, horizon = net.periods, self.horizon
        forecast = episode.forecast
        window = forecast[:periods].copy()  # summed period by period, in order: one sum per period
        for h in range(1, horizon):
            window += forecast[h : h + periods]
        window /= horizon
        open_orders = self.open_orders_from(episode.demand, np.arange(periods))
        rows = exogenous_rows(forecast[:periods], window, open_orders, np.arange(periods, dtype=np.float64),
                              periods, self.location_scale)
        self._cached_episode, self._cached_blocks = episode, rows
        return self._cached_blocks
