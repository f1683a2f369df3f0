"""The observation's arithmetic: the one implementation shared by the engine and the runtime.

``exogenous_rows`` scales the blocks that depend on the episode's seed alone (forecasts,
open orders, calendar); ``write_observation`` writes one observation from unit counts and
those rows, clipped to ``[OBS_LOW, OBS_HIGH]``. The compiled engine wraps
``write_observation`` with ``numba.njit``; the torch-free runtime calls both as they are.
``known_order_values`` scales the opt-in ``known_orders`` block (both paths call it after the rest).
The layout is documented in ``allocsim.envs.observation``. Imports numpy only.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

OBS_LOW, OBS_HIGH = -1.0, 10.0
WEEK = 7.0
N_CALENDAR = 5


def calendar(t: NDArray[np.float64], periods: int) -> NDArray[np.float64]:
    """(P, 5): t / T, sine and cosine of the weekday and of the day of the year."""
    return np.stack(
        [t / periods, np.sin(2 * np.pi * t / 7), np.cos(2 * np.pi * t / 7),
         np.sin(2 * np.pi * t / 365), np.cos(2 * np.pi * t / 365)],
        axis=1,
    )


def exogenous_rows(
    forecast_now: NDArray[np.float64],
    forecast_mean: NDArray[np.float64],
    open_orders: NDArray[np.float64],
    t: NDArray[np.float64],
    periods: int,
    location_scale: NDArray[np.float64],
) -> NDArray[np.float64]:
    """(P, 3·L·S + 5): forecast now and over the horizon (x a week), open orders, calendar; scaled.

    ``forecast_now``, ``forecast_mean`` and ``open_orders`` are (P, L, S) for periods ``t`` (P,).
    """
    n = len(t)
    return np.concatenate(
        [
            (forecast_now * WEEK / location_scale).reshape(n, -1),
            (forecast_mean * WEEK / location_scale).reshape(n, -1),
            (open_orders / location_scale).reshape(n, -1),
            calendar(t, periods),
        ],
        axis=1,
    )


def write_observation(  # type: ignore[no-untyped-def]
    out, dc_units, dc_available, dc_on_order, inv_dc_scale,
    on_hand, inbound, backlog, avg_age, inv_location_scale, inv_oldest_age, exogenous,
) -> None:
    """One observation into ``out`` (float32), blocks in the documented order.

    DC blocks (S,) scale by ``inv_dc_scale``; location blocks (L, S) by
    ``inv_location_scale``; the mean age of stock ``avg_age`` (L, S), in periods, by
    ``inv_oldest_age``; ``exogenous`` is one row of ``exogenous_rows``.
    """
    n_l, n_s = on_hand.shape[0], on_hand.shape[1]
    for k in range(n_s):
        out[k] = min(max(dc_units[k] * inv_dc_scale[k], OBS_LOW), OBS_HIGH)
        out[k + n_s] = min(max(dc_available[k] * inv_dc_scale[k], OBS_LOW), OBS_HIGH)
        out[k + 2 * n_s] = min(max(dc_on_order[k] * inv_dc_scale[k], OBS_LOW), OBS_HIGH)
    i = 3 * n_s
    size = n_l * n_s
    n_exo = exogenous.shape[0] - N_CALENDAR
    backlog_at = i + 2 * size + n_exo
    for loc in range(n_l):
        for k in range(n_s):
            j = loc * n_s + k
            scale = inv_location_scale[loc, k]
            out[i + j] = min(max(on_hand[loc, k] * scale, OBS_LOW), OBS_HIGH)
            out[i + size + j] = min(max(inbound[loc, k] * scale, OBS_LOW), OBS_HIGH)
            out[backlog_at + j] = min(max(backlog[loc, k] * scale, OBS_LOW), OBS_HIGH)
            out[backlog_at + size + j] = min(max(avg_age[loc, k] * inv_oldest_age, OBS_LOW), OBS_HIGH)
    start = i + 2 * size
    for j in range(n_exo):
        out[start + j] = min(max(exogenous[j], OBS_LOW), OBS_HIGH)
    start = backlog_at + 2 * size
    for j in range(N_CALENDAR):
        out[start + j] = min(max(exogenous[n_exo + j], OBS_LOW), OBS_HIGH)


def known_order_values(known: NDArray[np.float64],
                       location_scale: NDArray[np.float64]) -> NDArray[np.float32]:
    """The opt-in ``known_orders`` block: (..., D, L, S) orders already known for periods t .. t + D - 1
    (summed over the advance-notice channels) over a week of each location's expected demand, as
    ``open_orders`` is scaled, clipped and flattened to (..., D·L·S) float32."""
    scaled = np.clip(np.asarray(known, dtype=np.float64) / location_scale, OBS_LOW, OBS_HIGH)
    return scaled.reshape(*scaled.shape[:-3], -1).astype(np.float32)
