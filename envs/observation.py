"""The flat, normalised observation and its documented layout.

Unit quantities are divided by a week of expected demand (per SKU for DC blocks,
per location and SKU for location blocks), so 1.0 reads "a week of cover";
everything is clipped to ``[-1, OBS_CLIP]``. The blocks that depend on the episode's
seed alone (forecasts, open orders, calendar) are computed by the kernel from the
copy's rings each period; the observation is written by the compiled
``allocsim.envs.engine.kernels.observe``. Blocks, in order:

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
``known_orders``          D x L   opt-in (``observation: {known_orders: true}`` in the scenario):
                          x S     orders of the advance-notice channels already known for
                                  periods t, t + 1, ..., t + D - 1 (D = 1 + the longest notice),
                                  one row per period, scaled as ``open_orders`` (whose sum
                                  over the rows they are); 0 beyond a channel's notice or the
                                  horizon. Appended last, so the other blocks keep their place;
                                  the kernel writes the rest, this layout this block
                                  (``write_known_orders``), both through
                                  ``allocsim.core.observation_blocks``
========================  ======  ==================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from allocsim.core.observation_blocks import OBS_HIGH, WEEK, known_order_values
from allocsim.envs.demand import DemandProfile
from allocsim.envs.engine.state import EngineState
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
        self.depth = 1 + int(net.advance_notice.max(initial=0))  # periods t .. t + longest notice
        self.known_orders = bool(net.scenario.observation.known_orders)
        if self.known_orders:
            shapes.append(("known_orders", (self.depth, n_l, s)))
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

    def space(self) -> spaces.Box:
        return spaces.Box(low=-1.0, high=OBS_CLIP, shape=(self.size,), dtype=np.float32)

    def describe(self) -> list[dict[str, object]]:
        """The layout as data (for docs, export metadata and users)."""
        return [
            {"name": n, "shape": list(self.shapes[n]), "start": sl.start, "stop": sl.stop}
            for n, sl in self.blocks.items()
        ]

    def open_orders(self, state: EngineState, b: int) -> NDArray[np.float64]:
        """(L, S) units of advance-notice channels copy ``b`` already sees ordered for its period and the
        coming periods of each channel's notice window (the kernel's sum)."""
        return self.known_by_channel(state, [b])[0].sum(axis=(0, -1))

    def known_by_channel(self, state: EngineState, rows: Any) -> NDArray[np.float64]:
        """(B', D, L, S, C) orders of the copies ``rows`` selects (a mask or indices) already known for
        periods t .. t + D - 1, from their demand ring: each advance-notice channel within its notice,
        none past the horizon, 0 for the other channels. The one reading of known orders: ``open_orders``
        sums it, the ``known_orders`` block sums it over channels, ``AllocationState.known_orders`` is it."""
        ring = state.demand_ring[rows]  # (B', R, L, S, C)
        t = state.period[rows].astype(np.int64)
        span = ring.shape[1]
        out = np.zeros((len(t), self.depth, *ring.shape[2:]))
        copies = np.arange(len(t))
        for q in range(self.depth):
            live = t + q < self.net.periods
            at = ring[copies, (t + q) % span]  # (B', L, S, C)
            for channel, notice in self.notice:
                if q <= notice:
                    out[:, q, ..., channel] = np.where(live[:, None, None], at[..., channel], 0)
        return out

    def write_known_orders(self, state: EngineState, obs: NDArray[np.float32],
                           rows: NDArray[np.bool_]) -> None:
        """Fill the ``known_orders`` block of ``obs`` for the copies flagged in ``rows`` (after the kernel
        observed them); nothing when the scenario does not ask for the block."""
        if not self.known_orders or not rows.any():
            return
        block = self.blocks["known_orders"]
        by_period = self.known_by_channel(state, rows).sum(axis=-1)  # (B', D, L, S)
        obs[rows, block] = known_order_values(by_period, self.location_scale)
