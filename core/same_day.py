"""The stock a decided holdback applies to: what is on the shelf today once the decision's
same-period moves are done (``timing.holdback_decision``).

That is the stock on hand at the decision, plus what the decision ships from the DC to a
location with lead time 0, plus what it transfers in over a lane whose lead time and approval
delay are both 0, less what it transfers out. Counting the stock on hand alone, a share could
never protect a unit its own decision delivers today (a store restocked from zero would protect
nothing). The engine compiles these functions (``allocsim.envs.engine.decide.protect_decided``);
the torch-free runtime (``allocsim.agents.inference``) calls them with the lead times its
policy card carries, and a differential test keeps the two equal. Plain Python over numpy
arrays that numba compiles unchanged; imports numpy only.
"""

from __future__ import annotations

import numpy as np


def transfer_delay(transfers, lane_threshold, lane_delay, out) -> None:  # type: ignore[no-untyped-def]
    """Approval delay of each lane and SKU into ``out`` (K, S): the lane's delay when its units are
    above the lane's approval threshold, else 0."""
    for q in range(transfers.shape[0]):
        for k in range(transfers.shape[1]):
            out[q, k] = lane_delay[q] if transfers[q, k] > lane_threshold[q] else 0


def on_shelf_today(on_hand, alloc, transfers, delay, lead_time, lane_source, lane_target,  # type: ignore[no-untyped-def]
                   lane_lead, out) -> None:
    """Units of each location and SKU on the shelf today, into ``out`` (L, S), never below 0.

    ``on_hand`` (L, S) at the decision, ``alloc`` (L, S) shipped from the DC, ``transfers`` and their
    approval ``delay`` (K, S); ``lead_time`` (L,) from the DC, and per lane its ``lane_source``,
    ``lane_target`` and ``lane_lead`` (K,).
    """
    for loc in range(on_hand.shape[0]):
        for k in range(on_hand.shape[1]):
            today = on_hand[loc, k] + (alloc[loc, k] if lead_time[loc] == 0 else 0)
            for q in range(lane_source.shape[0]):
                if lane_source[q] == loc:
                    today -= transfers[q, k]
                if lane_target[q] == loc and lane_lead[q] + delay[q, k] == 0:
                    today += transfers[q, k]
            out[loc, k] = max(today, 0)


def holdback_base(on_hand, alloc, transfers, lead_time, lane_source, lane_target, lane_lead,  # type: ignore[no-untyped-def]
                  lane_threshold, lane_delay) -> np.ndarray:
    """``on_shelf_today`` as a new (L, S) int64 array, the approval delays derived from the lanes."""
    delay = np.zeros(transfers.shape, dtype=np.int64)
    transfer_delay(transfers, lane_threshold, lane_delay, delay)
    out = np.zeros(on_hand.shape, dtype=np.int64)
    on_shelf_today(on_hand, alloc, transfers, delay, lead_time, lane_source, lane_target, lane_lead, out)
    return out
