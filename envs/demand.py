"""Demand: expected rates per lane, per-episode samples, noisy forecasts, CSV replay.

Common random numbers: everything an episode's customers do is drawn from the episode
seed alone (demand stream 2, ``allocsim.envs.demand_stream``), so no action can change it.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from allocsim.core.error_text import shorten, show
from allocsim.core.limits import MAX_PERIODS, MAX_UNITS
from allocsim.envs.demand_stream import fill_demand, fill_forecast_noise, fill_leads
from allocsim.envs.history_resample import block_bootstrap
from allocsim.envs.network import Network
from allocsim.envs.scenario.demand_spec import WILDCARD, DemandStream
from allocsim.envs.scenario.entities import UniformLeadTime

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
CSV_COLUMNS = ("period", "sku", "location", "channel", "quantity")
DISTRIBUTIONS = ("poisson", "negative_binomial", "normal")


class DemandCsvError(ValueError):
    """A demand history that cannot be replayed; the message names the row and column."""


def _matches(stream: DemandStream, name: str, field: str) -> bool:
    value = getattr(stream, field)
    return value in (WILDCARD, name)


@dataclass(frozen=True)
class DemandProfile:
    """Expected demand per period and lane, and how each lane is sampled."""

    mean: FloatArray  # (T + H, L, S, C)
    distribution: NDArray[np.int8]  # (L, S, C) index into DISTRIBUTIONS
    dispersion: FloatArray  # (L, S, C)
    cv: FloatArray  # (L, S, C)
    replay: IntArray | None  # (T, L, S, C) when demand is a replayed history

    @classmethod
    def build(cls, net: Network) -> DemandProfile:
        """Expected rates from the scenario's streams, or from its CSV history."""
        spec = net.scenario.demand
        horizon = net.periods + net.scenario.forecast.horizon
        shape = (net.n_locations, net.n_skus, net.n_channels)
        if spec.csv is not None:
            replay = read_demand_csv(Path(spec.csv), net)
            return cls(
                mean=_smoothed_rates(replay, horizon),
                distribution=np.zeros(shape, dtype=np.int8),
                dispersion=np.ones(shape),
                cv=np.zeros(shape),
                replay=replay,
            )
        base = np.zeros(shape)
        which = np.full(shape, -1, dtype=np.int64)
        scale = np.array([spec.regional_scale.get(r, 1.0) for r in net.region])
        for k, stream in enumerate(spec.streams):
            for li, loc in enumerate(net.locations):
                if not _matches(stream, loc, "location"):
                    continue
                for si, sku in enumerate(net.skus):
                    if not _matches(stream, sku, "sku"):
                        continue
                    for ci, ch in enumerate(net.channels):
                        if net.serves[li, ci] and _matches(stream, ch, "channel"):
                            base[li, si, ci] = stream.mean * scale[li]
                            which[li, si, ci] = k
        mean = np.zeros((horizon, *shape))
        distribution = np.zeros(shape, dtype=np.int8)
        dispersion = np.ones(shape)
        cv = np.zeros(shape)
        for k, stream in enumerate(spec.streams):
            lanes = which == k
            if not lanes.any():
                continue
            mean[:, lanes] = stream.time_profile(horizon)[:, None] * base[lanes][None, :]
            distribution[lanes] = DISTRIBUTIONS.index(stream.distribution)
            dispersion[lanes] = stream.dispersion
            cv[lanes] = stream.cv
        return cls(mean=mean, distribution=distribution, dispersion=dispersion, cv=cv, replay=None)


@dataclass(frozen=True)
class EpisodeDemand:
    """One episode's realised demand, the forecasts the policy will see, supplier lead times."""

    demand: IntArray  # (T, L, S, C)
    forecast: FloatArray  # (T + H, L, S) noisy expected units per period, all channels
    supplier_lead: IntArray  # (T,) lead time of an order placed in each period


def _draw(profile: DemandProfile, periods: int, seed: int) -> IntArray:
    """Every period's demand of the episode on ``seed``: the per-period draws of demand stream 2."""
    mean = profile.mean[:periods]
    lanes = int(np.prod(mean.shape[1:]))
    demand = np.empty((periods, lanes), dtype=np.int64)
    fill_demand(seed, np.ascontiguousarray(mean.reshape(periods, lanes)), profile.distribution.reshape(-1),
                profile.dispersion.reshape(-1), profile.cv.reshape(-1), demand)
    return demand.reshape(mean.shape)


def forecast_sigma(net: Network) -> float:
    """The log-sd of the forecast's lognormal noise, from the scenario's ``noise_cv``."""
    return math.sqrt(math.log1p(net.scenario.forecast.noise_cv**2))


def sample_episode(profile: DemandProfile, net: Network, seed: int) -> EpisodeDemand:
    """Everything random about an episode, from its seed alone (common random numbers).

    Each number is drawn from its own key of demand stream 2 (``allocsim.envs.demand_stream``),
    so this is exactly what the engine draws period by period. A replayed history is
    resampled per seed unless the scenario says ``resample: none``.
    """
    periods = net.periods
    rate = profile.mean.sum(axis=-1)
    source = net.scenario.demand
    if profile.replay is None:
        demand = _draw(profile, periods, seed)
    elif source.resample == "none":
        demand = profile.replay.copy()
    else:  # a bootstrap of the history; the forecaster smooths the path it replays, as for the history
        demand = block_bootstrap(profile.replay, source.block_length, seed)
        rate = _smoothed_rates(demand, rate.shape[0]).sum(axis=-1)
    noise = np.empty((rate.shape[0], rate.shape[1] * rate.shape[2]))
    fill_forecast_noise(seed, forecast_sigma(net), noise)
    forecast = rate * (1.0 + net.scenario.forecast.bias) * noise.reshape(rate.shape)
    lead = net.scenario.supplier.lead_time
    if isinstance(lead, UniformLeadTime):
        supplier_lead = np.empty(periods, dtype=np.int64)
        fill_leads(seed, lead.low, lead.high, supplier_lead)
    else:
        supplier_lead = np.full(periods, lead.periods)
    return EpisodeDemand(demand=demand, forecast=forecast, supplier_lead=supplier_lead.astype(np.int64))


def _smoothed_rates(replay: IntArray, horizon: int) -> FloatArray:
    """Centred 7-period moving average of a history: the rate a forecaster would estimate."""
    periods = replay.shape[0]
    kernel_half = 3
    padded = np.concatenate([replay[:1].repeat(kernel_half, 0), replay, replay[-1:].repeat(kernel_half, 0)])
    cumulative = np.concatenate([np.zeros((1, *replay.shape[1:])), np.cumsum(padded, axis=0)])
    width = 2 * kernel_half + 1
    rates = (cumulative[width:] - cumulative[:-width]) / width
    tail = np.repeat(rates[-1:], horizon - periods, axis=0)
    return np.concatenate([rates, tail])


def _parse_int(value: str, where: str, most: int = MAX_UNITS) -> int:
    """A whole number 0..``most`` from a CSV cell; DemandCsvError naming ``where`` otherwise."""
    text = value.strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):
        raise DemandCsvError(f"{where}: expected a whole number, got {show(value)}")
    if text.startswith("-"):
        raise DemandCsvError(f"{where}: must be >= 0, got {shorten(text)}")
    if len(digits) > len(str(most)) or int(digits) > most:
        raise DemandCsvError(f"{where}: must be at most {most:,}, got {shorten(text)}")
    return int(digits)


#: Separators a history may use; the one that splits the header into the most known columns wins.
DELIMITERS = (",", ";", "\t")
#: The weekday of period 0: weekly seasonality (``weekday`` multipliers Monday..Sunday) and the
#: bootstrap's weekday-aligned blocks count from it.
PERIOD_ZERO = "Monday"


def _delimiter(header: str) -> str:
    """The separator of a CSV whose first line is ``header`` (comma, semicolon or tab)."""
    known = {*CSV_COLUMNS, "date"}
    return max(DELIMITERS, key=lambda d: len(known & {c.strip() for c in header.split(d)}))


def _table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """Header and (line number, row) of a UTF-8 CSV; DemandCsvError naming the file for encoding,
    CSV or header errors. Comma, semicolon or tab separated; a ``date`` column may replace ``period``."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as err:
        raise DemandCsvError(f"{path}: cannot read ({err.strerror})") from None
    with handle:
        try:
            delimiter = _delimiter(handle.readline())
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter=delimiter)
            header = [c.strip() for c in reader.fieldnames or []]
            reader.fieldnames = header
            _check_header(path, header, delimiter)
            return header, [(reader.line_num, row) for row in reader]
        except UnicodeDecodeError as err:
            raise DemandCsvError(
                f"{path}: not UTF-8 text (byte {err.start} of a block); save the file as UTF-8"
            ) from None
        except csv.Error as err:
            raise DemandCsvError(f"{path}: row {reader.line_num}: {shorten(str(err))}") from None


def _check_header(path: Path, header: list[str], delimiter: str) -> None:
    """DemandCsvError naming the missing columns (and the separator read) or a period/date clash."""
    if "period" in header and "date" in header:
        raise DemandCsvError(f"{path}: has both a 'period' and a 'date' column; keep one of them")
    wanted = [c for c in CSV_COLUMNS if not (c == "period" and "date" in header)]
    missing = [c for c in wanted if c not in header]
    if missing:
        sep = {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]
        raise DemandCsvError(f"{path}: missing column(s) {', '.join(missing)} (header read as "
                             f"{sep}-separated: {shorten(', '.join(header) or '(empty)', 120)}); "
                             "expected period (or date),sku,location,channel,quantity")


def _periods(path: Path, header: list[str], rows: list[tuple[int, dict[str, str | None]]]) -> list[int]:
    """Each row's period: its ``period`` cell, or days since the first ``date`` (which must be a Monday)."""
    if "date" not in header:
        return [_parse_int(row["period"] or "", f"{path}: row {line}, column 'period'", MAX_PERIODS)
                for line, row in rows]
    days: list[date] = []
    for line, row in rows:
        text = (row["date"] or "").strip()
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            raise DemandCsvError(f"{path}: row {line}, column 'date': expected a date like 2024-01-01, "
                                 f"got {show(text)}") from None
    first = min(days) if days else None
    if first is not None and first.weekday() != 0:
        monday = first - timedelta(days=first.weekday())
        raise DemandCsvError(f"{path}: the first date, {first.isoformat()}, is a {first.strftime('%A')}; "
                             f"period 0 is a {PERIOD_ZERO} (weekly patterns count from it): start the "
                             f"history on {monday.isoformat()} or {(monday + timedelta(days=7)).isoformat()}")
    return [(day - first).days for day in days] if first is not None else []


def read_demand_csv(path: Path, net: Network) -> IntArray:
    """A (T, L, S, C) history from a CSV with columns period (or date), sku, location, channel, quantity.

    Period 0 is a Monday; a ``date`` column counts one period per day from its first date, which must
    be a Monday. The history must reach the scenario's last period (a shorter one would replay zero
    demand after it); every quantity, and every (period, lane) total, is at most ``MAX_UNITS``; a file
    with a header and no rows is refused (it would replay no demand at all).
    """
    index = {
        "sku": {n: i for i, n in enumerate(net.skus)},
        "location": {n: i for i, n in enumerate(net.locations)},
        "channel": {n: i for i, n in enumerate(net.channels)},
    }
    replay = np.zeros((net.periods, net.n_locations, net.n_skus, net.n_channels), dtype=np.int64)
    header, rows = _table(path)
    if not rows:
        raise DemandCsvError(f"{path}: no demand rows (only a header)")
    column = "date" if "date" in header else "period"
    periods = _periods(path, header, rows)
    for (line, row), period in zip(rows, periods, strict=True):
        where = f"{path}: row {line}"
        if period >= net.periods:
            raise DemandCsvError(f"{where}, column '{column}': period {period} is beyond the horizon of "
                                 f"{net.periods} periods (0..{net.periods - 1})")
        pos = []
        for field in ("location", "sku", "channel"):
            name = (row[field] or "").strip()
            if name not in index[field]:
                raise DemandCsvError(f"{where}, column '{field}': unknown {field} {show(name)}")
            pos.append(index[field][name])
        if not net.serves[pos[0], pos[2]]:
            raise DemandCsvError(
                f"{where}: location {show(row['location'])} does not serve channel {show(row['channel'])}"
            )
        cell = (period, pos[0], pos[1], pos[2])
        replay[cell] += _parse_int(row["quantity"] or "", f"{where}, column 'quantity'")
        if replay[cell] > MAX_UNITS:
            raise DemandCsvError(f"{where}, column 'quantity': the rows of this period and lane add up to "
                                 f"{int(replay[cell]):,}; at most {MAX_UNITS:,}")
    _check_covers(path, periods, net.periods)
    return replay


def _check_covers(path: Path, periods: list[int], horizon: int) -> None:
    """DemandCsvError when the history ends before the scenario's last period."""
    last = max(periods)
    if last + 1 < horizon:
        raise DemandCsvError(f"{path}: the history covers periods 0..{last} ({last + 1} periods) but the "
                             f"scenario runs {horizon}; give rows up to period {horizon - 1} (quantity 0 "
                             "where nothing sold) or set the scenario's periods to at most "
                             f"{last + 1}")
