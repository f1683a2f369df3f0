"""FIFO age cohorts: stock is an integer array whose FIRST axis is age in periods.

Bucket ``a`` holds units that have seen ``a`` period closes since they entered the
network; the last bucket holds every older unit too. Age comes first so that every
reduction over ages is a handful of contiguous vector adds (fast for large
networks). All functions are exact on integers and vectorised over the trailing
axes, so cost grows with the number of stock positions, never with units.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


def take_oldest(cohorts: IntArray, quantity: IntArray) -> IntArray:
    """Remove ``quantity`` units oldest-first from ``cohorts`` (A, ...) in place; return them.

    ``quantity`` has the shape of ``cohorts`` without its age axis and must not exceed
    the units present.
    """
    oldest_first = cohorts[::-1]
    still_wanted = quantity[None] - (np.cumsum(oldest_first, axis=0) - oldest_first)
    taken = np.minimum(np.maximum(still_wanted, 0), oldest_first)[::-1]
    cohorts -= taken
    return taken


def split_oldest(cohorts: IntArray, shipments: IntArray) -> IntArray:
    """Split ``cohorts`` (A, S) oldest-first among destinations ``shipments`` (D, S).

    Destination 0 receives the oldest units, then destination 1, and so on. Returns
    the shipped cohorts (A, D, S) and removes them from ``cohorts`` in place.
    """
    oldest_first = cohorts[::-1]
    cohort_end = np.cumsum(oldest_first, axis=0)
    cohort_start = cohort_end - oldest_first
    ship_end = np.cumsum(shipments, axis=0)
    ship_start = ship_end - shipments
    overlap = np.minimum(ship_end[None], cohort_end[:, None]) - np.maximum(
        ship_start[None], cohort_start[:, None]
    )
    shipped = np.maximum(overlap, 0)[::-1]
    cohorts -= shipped.sum(axis=1)
    return shipped


def age_in_place(cohorts: IntArray) -> None:
    """Advance every unit by one period (the last bucket absorbs the one before it)."""
    cohorts[-1] += cohorts[-2]
    cohorts[1:-1] = cohorts[:-2]
    cohorts[0] = 0


def aged_by(cohorts: IntArray, periods: int) -> IntArray:
    """A copy of ``cohorts`` advanced by ``periods`` (used for stock put in transit)."""
    if periods == 0:
        return cohorts.copy()
    buckets = cohorts.shape[0]
    out = np.zeros_like(cohorts)
    shift = min(periods, buckets - 1)
    out[shift:-1] = cohorts[: buckets - 1 - shift]
    out[-1] = cohorts[buckets - 1 - shift :].sum(axis=0)
    return out


def remove_expired(cohorts: IntArray, expired_mask: NDArray[np.bool_]) -> IntArray:
    """Zero the buckets at or past shelf life in place; return the units removed per position.

    ``expired_mask`` is True where a bucket is expired and broadcasts against
    ``cohorts`` (for (A, L, S) stock pass an (A, 1, S) mask, for (A, S) an (A, S) one).
    """
    expired = np.where(expired_mask, cohorts, 0)
    cohorts -= expired
    return expired.sum(axis=0)
