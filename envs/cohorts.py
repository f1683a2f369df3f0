"""FIFO age cohorts: stock is an integer array whose last axis is age in periods.

Bucket ``a`` holds units that have seen ``a`` period closes since they entered the
network; the last bucket holds every older unit too. All functions are exact on
integers and vectorised over the leading axes, so cost grows with the number of
stock positions, never with the number of units.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


def take_oldest(cohorts: IntArray, quantity: IntArray) -> IntArray:
    """Remove ``quantity`` units oldest-first from ``cohorts`` in place; return what was taken.

    ``quantity`` has the shape of ``cohorts`` without its age axis and must not exceed
    the units present.
    """
    oldest_first = cohorts[..., ::-1]
    still_wanted = quantity[..., None] - (np.cumsum(oldest_first, axis=-1) - oldest_first)
    taken = np.minimum(np.maximum(still_wanted, 0), oldest_first)[..., ::-1]
    cohorts -= taken
    return taken


def split_oldest(cohorts: IntArray, shipments: IntArray) -> IntArray:
    """Split ``cohorts`` (S, A) oldest-first among destinations ``shipments`` (D, S).

    Destination 0 receives the oldest units, then destination 1, and so on. Returns
    the shipped cohorts (D, S, A) and removes them from ``cohorts`` in place.
    """
    oldest_first = cohorts[:, ::-1]
    cohort_end = np.cumsum(oldest_first, axis=-1)
    cohort_start = cohort_end - oldest_first
    ship_end = np.cumsum(shipments, axis=0)
    ship_start = ship_end - shipments
    overlap = np.minimum(ship_end[:, :, None], cohort_end[None]) - np.maximum(
        ship_start[:, :, None], cohort_start[None]
    )
    shipped = np.maximum(overlap, 0)[:, :, ::-1]
    cohorts -= shipped.sum(axis=0)
    return np.ascontiguousarray(shipped)


def age_in_place(cohorts: IntArray) -> None:
    """Advance every unit by one period (the last bucket absorbs the one before it)."""
    cohorts[..., -1] += cohorts[..., -2]
    cohorts[..., 1:-1] = cohorts[..., :-2]
    cohorts[..., 0] = 0


def aged_by(cohorts: IntArray, periods: int) -> IntArray:
    """A copy of ``cohorts`` advanced by ``periods`` (used for stock put in transit)."""
    if periods == 0:
        return cohorts.copy()
    buckets = cohorts.shape[-1]
    out = np.zeros_like(cohorts)
    shift = min(periods, buckets - 1)
    out[..., shift:-1] = cohorts[..., : buckets - 1 - shift]
    out[..., -1] = cohorts[..., buckets - 1 - shift :].sum(axis=-1)
    return out


def remove_expired(cohorts: IntArray, expired_mask: NDArray[np.bool_]) -> IntArray:
    """Zero the buckets at or past shelf life in place; return the units removed per position.

    ``expired_mask`` is (S, A): True where a bucket of that SKU is expired; it broadcasts
    over the leading axes of ``cohorts`` (..., S, A).
    """
    expired = np.where(expired_mask, cohorts, 0)
    cohorts -= expired
    return expired.sum(axis=-1)
