"""The root scenario model and its cross-reference checks."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from allocsim.core.error_text import shorten
from allocsim.core.limits import MAX_CHANNELS, MAX_LOCATIONS, MAX_SKUS
from allocsim.envs.scenario.demand_spec import (
    WILDCARD,
    DemandSpec,
    ForecastSpec,
    Guardrails,
    Objective,
)
from allocsim.envs.scenario.entities import (
    BaseStockReplenishment,
    Channel,
    DistributionCentre,
    FileName,
    Location,
    MinMaxReplenishment,
    PolicyReplenishment,
    Sku,
    StrictModel,
    Supplier,
    TransferLane,
)
from allocsim.envs.scenario.numbers import Horizon
from allocsim.envs.scenario.scale_checks import check_demand_peaks, check_network_units, check_size
from allocsim.envs.scenario.timing import Timing


class ObservationSpec(StrictModel):
    """Opt-in observation blocks (``allocsim.envs.observation``); the default layout has none."""

    known_orders: bool = Field(
        default=False, description="append the known orders of the advance-notice channels period by period "
        "(t .. t + longest notice), not only their sum (open_orders)")


def _unique(kind: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{kind} name {name!r} is used twice")
        seen.add(name)


def _known(where: str, names: Iterable[str], valid: set[str]) -> None:
    for name in names:
        if name not in valid:
            raise ValueError(f"{where}: unknown name {name!r} (valid: {shorten(', '.join(sorted(valid)))})")


class Scenario(StrictModel):
    """A whole allocation network: validated first, then compiled by ``Network``."""

    name: FileName = Field(description="letters, digits, '_', '-', '.'; names tuned/ and runs/ files")
    description: str = Field(default="", max_length=10_000)
    periods: Horizon = 60
    currency: str = Field(default="EUR", max_length=16)
    skus: list[Sku] = Field(min_length=1, max_length=MAX_SKUS)
    channels: list[Channel] = Field(min_length=1, max_length=MAX_CHANNELS)
    supplier: Supplier = Field(default_factory=Supplier)
    dc: DistributionCentre = Field(default_factory=DistributionCentre)
    locations: list[Location] = Field(min_length=1, max_length=MAX_LOCATIONS)
    transfers: list[TransferLane] = Field(default_factory=list)
    demand: DemandSpec
    forecast: ForecastSpec = Field(default_factory=ForecastSpec)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    objective: Objective = Field(default_factory=Objective)
    timing: Timing = Field(default_factory=Timing)
    observation: ObservationSpec = Field(default_factory=ObservationSpec)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        check_size(self)
        _unique("sku", (s.name for s in self.skus))
        _unique("channel", (c.name for c in self.channels))
        _unique("location", (loc.name for loc in self.locations))
        skus = {s.name for s in self.skus}
        channels = {c.name for c in self.channels}
        locations = {loc.name for loc in self.locations}
        regions = {loc.region for loc in self.locations}
        for loc in self.locations:
            _known(f"locations.{loc.name}.channels", loc.channels, channels)
        served = {c for loc in self.locations for c in loc.channels}
        for sku in self.skus:
            _known(f"skus.{sku.name}.price", sku.price, channels)
            missing = sorted(served - set(sku.price))
            if missing:
                raise ValueError(f"skus.{sku.name}.price: no price for channel(s) {missing}")
            if sku.shelf_life is not None and sku.shelf_life > 365:
                raise ValueError(f"skus.{sku.name}.shelf_life: at most 365 periods")
        for ch in self.channels:
            if ch.contract is not None:
                _known(f"channels.{ch.name}.contract.rights", ch.contract.rights, skus)
        for loc in self.locations:
            _known(f"locations.{loc.name}.initial_stock", loc.initial_stock, skus)
            _known(f"locations.{loc.name}.holding_cost", loc.holding_cost, skus)
            start = sum(loc.initial_stock.values())
            if loc.capacity is not None and start > loc.capacity:
                raise ValueError(
                    f"locations.{loc.name}: initial stock {start} exceeds capacity {loc.capacity}"
                )
        _known("dc.initial_stock", self.dc.initial_stock, skus)
        _known("dc.safety_reserve", self.dc.safety_reserve, skus)
        _known("dc.holding_cost", self.dc.holding_cost, skus)
        self._check_supplier(skus)
        for i, lane in enumerate(self.transfers):
            _known(f"transfers.{i}", (lane.source, lane.target), locations)
            if lane.source == lane.target:
                raise ValueError(f"transfers.{i}: from and to are both {lane.source!r}")
        self._check_demand(skus, channels, locations, regions)
        self._check_timing(skus, channels, locations)
        check_network_units(self)
        check_demand_peaks(self)
        return self

    def _check_supplier(self, skus: set[str]) -> None:
        sup = self.supplier
        _known("supplier.capacity_per_period", sup.capacity_per_period, skus)
        for i, receipt in enumerate(sup.inbound_schedule):
            _known(f"supplier.inbound_schedule.{i}.sku", [receipt.sku], skus)
            if receipt.period >= self.periods:
                raise ValueError(
                    f"supplier.inbound_schedule.{i}.period: {receipt.period} is beyond the "
                    f"horizon of {self.periods} periods"
                )
        rule = sup.replenishment
        if isinstance(rule, BaseStockReplenishment):
            _known("supplier.replenishment.level", rule.level, skus)
        elif isinstance(rule, MinMaxReplenishment):
            _known("supplier.replenishment.min", rule.min, skus)
            _known("supplier.replenishment.max", rule.max, skus)
        elif isinstance(rule, PolicyReplenishment):
            _known("supplier.replenishment.max_order", rule.max_order, skus)

    def _check_demand(
        self, skus: set[str], channels: set[str], locations: set[str], regions: set[str]
    ) -> None:
        _known("demand.regional_scale", self.demand.regional_scale, regions)
        by_name = {loc.name: loc for loc in self.locations}
        for i, stream in enumerate(self.demand.streams):
            where = f"demand.streams.{i}"
            if stream.sku != WILDCARD:
                _known(f"{where}.sku", [stream.sku], skus)
            if stream.channel != WILDCARD:
                _known(f"{where}.channel", [stream.channel], channels)
            if stream.location != WILDCARD:
                _known(f"{where}.location", [stream.location], locations)
                loc = by_name[stream.location]
                if stream.channel != WILDCARD and stream.channel not in loc.channels:
                    raise ValueError(
                        f"{where}: location {loc.name!r} does not serve channel {stream.channel!r}"
                    )
            for j, promo in enumerate(stream.promotions):
                if promo.start >= self.periods:
                    raise ValueError(f"{where}.promotions.{j}.start: beyond the horizon")

    def _check_timing(self, skus: set[str], channels: set[str], locations: set[str]) -> None:
        timing = self.timing
        _known("timing.channels", timing.channels, channels)
        _known("timing.location_arrival", timing.location_arrival, locations)
        for i, hold in enumerate(timing.holdbacks):
            _known(f"timing.holdbacks.{i}.channel", [hold.channel], channels)
            if hold.location != WILDCARD:
                _known(f"timing.holdbacks.{i}.location", [hold.location], locations)
            if hold.sku != WILDCARD:
                _known(f"timing.holdbacks.{i}.sku", [hold.sku], skus)
            self._check_protects_someone(f"timing.holdbacks.{i}.channel", [hold.channel])
        if timing.holdback_decision is not None:
            self._check_holdback_decision(timing.holdback_decision.channels, channels)

    def _check_holdback_decision(self, protected: list[str], channels: set[str]) -> None:
        """The protected channels exist, are named once, and some channel ranks below them all."""
        where = "timing.holdback_decision.channels"
        _known(where, protected, channels)
        if len(set(protected)) < len(protected):
            twice = next(name for name in protected if protected.count(name) > 1)
            raise ValueError(f"{where}: {twice!r} is listed twice")
        self._check_protects_someone(where, protected)

    def _check_protects_someone(self, where: str, protected: list[str]) -> None:
        """Some channel ranks below every protected one; else a holdback keeps stock from nobody."""
        priority = {c.name: c.priority for c in self.channels}
        lowest = min(priority[name] for name in protected)
        if not any(p < lowest for p in priority.values()):
            raise ValueError(f"{where}: no channel has a priority below {lowest} (that of "
                             f"{shorten(', '.join(protected))}), so a holdback would protect from nobody")

    @property
    def age_buckets(self) -> int:
        """Age cohorts tracked per stock position; the last one holds all older units."""
        ages = [self.guardrails.aging_goal + 1]
        for sku in self.skus:
            if sku.shelf_life is not None:
                ages.append(sku.shelf_life + 1)
            ages.extend(step.age + 1 for step in sku.markdown)
        return max(2, *ages)

    def content_hash(self) -> str:
        """A stable hash of the validated content (ties exported models and tuned parameters to a
        scenario). The timing mode is left out: ``--timing`` runs the same network, so what was
        tuned or trained in one mode is found in the other; without a timing block the hash is
        the one it had before timing existed (and likewise without per-node holding costs). The
        ``observation`` options are left out too: they change what a policy sees, not the network, so
        tuned rules stay found; an exported policy's card carries its own observation layout."""
        content = _without_unset_late_fields(self.model_dump(mode="json", by_alias=True))
        del content["observation"]
        if content["demand"].get("csv"):  # the history's bytes, not its path: a copy is the same demand
            content["demand"]["csv"] = _file_digest(content["demand"]["csv"])
        del content["timing"]["mode"]
        if content["timing"]["holdback_decision"] is None:  # the hash it had before the decision existed
            del content["timing"]["holdback_decision"]
        if self.timing.model_copy(update={"mode": "aggregated"}).is_default:
            del content["timing"]
        payload = json.dumps(content, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _file_digest(path: str) -> str:
    """``sha256:<16 hex>`` of the file's bytes (cached per size and modification time); the path
    itself when it cannot be read (loading the scenario's demand reports that)."""
    try:
        stat = Path(path).stat()
    except OSError:
        return path
    return _digest_of(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return path


def _without_unset_late_fields(content: dict[str, Any]) -> dict[str, Any]:
    """``content`` without the per-node holding costs where they are empty.

    They were added after scenario hashes tied tuned rules and exported models to their
    scenarios; leaving them out while unset keeps every earlier hash (and those ties) valid.
    """
    nodes = [content.get("dc", {}), *content.get("locations", [])]
    for node in nodes:
        if node.get("holding_cost") == {}:
            del node["holding_cost"]
    return content
