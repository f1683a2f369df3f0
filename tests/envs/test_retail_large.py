"""retail-large is retail-medium on twice the stores (issue 26 item 3): the same assortment, channels and
supplier terms, every store of retail-medium kept as is, and supply as tight against demand as there.

The expected daily demand is read off the YAML by hand (mean x regional scale, weekly profiles average
1.0), not from the simulator, so the test says what the description claims."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from allocsim.envs.scenario import Scenario, load_scenario, preset_names


@pytest.fixture(scope="module")
def medium() -> Scenario:
    return load_scenario("retail-medium")


@pytest.fixture(scope="module")
def large() -> Scenario:
    return load_scenario("retail-large")


def stores(scenario: Scenario) -> list:
    """The locations that sell through the store channel only."""
    return [loc for loc in scenario.locations if loc.channels == ["store"]]


def daily_demand(scenario: Scenario, sku: str) -> float:
    """Expected units a day of ``sku`` over the network: each channel's stream mean (the last stream
    matching the SKU wins, as in the schema) times the regional scale of every location selling it."""
    total = 0.0
    for loc in scenario.locations:
        for channel in loc.channels:
            streams = [s for s in scenario.demand.streams if s.channel in (channel, "*")
                       and s.sku in (sku, "*") and s.location in (loc.name, "*")]
            assert all(s.weekly is None or sum(s.weekly) == pytest.approx(7.0) for s in streams)
            total += streams[-1].mean * scenario.demand.regional_scale.get(loc.region, 1.0)
    return total


def test_it_is_a_preset() -> None:
    assert "retail-large" in preset_names()


def test_same_assortment_channels_supplier_terms_and_demand(medium: Scenario, large: Scenario) -> None:
    assert large.skus == medium.skus and large.channels == medium.channels
    assert large.periods == medium.periods == 90
    assert large.supplier.lead_time == medium.supplier.lead_time
    assert large.supplier.payable_days == medium.supplier.payable_days
    assert large.supplier.replenishment.rule == medium.supplier.replenishment.rule == "base-stock"
    assert large.dc.name == medium.dc.name
    same = ("demand", "forecast", "guardrails", "objective", "timing")
    assert all(getattr(large, key) == getattr(medium, key) for key in same)


def test_twice_the_stores_in_the_same_regions_and_every_medium_location_kept(medium: Scenario,
                                                                              large: Scenario) -> None:
    assert len(stores(medium)) == 10 and len(stores(large)) == 20
    assert all(loc in large.locations for loc in medium.locations)
    assert [loc.name for loc in large.locations if loc.channels != ["store"]] == ["web-fc"]
    regions = Counter(loc.region for loc in stores(large))
    assert regions == {r: 2 * n for r, n in Counter(loc.region for loc in stores(medium)).items()}
    assert regions == {"north": 6, "centre": 8, "south": 6}


def test_new_stores_look_like_the_old_ones(medium: Scenario, large: Scenario) -> None:
    """Capacity, lead time and opening stock within retail-medium's store ranges; a store's shipping
    cost is the one retail-medium charges for its region and lead time."""
    old = stores(medium)
    cost_of = {(loc.region, loc.lead_time): loc.shipping_cost for loc in old}
    assert len(set(cost_of.values())) == len(cost_of)  # the table is one cost per (region, lead time)
    for loc in stores(large)[10:]:
        assert min(o.capacity for o in old) <= loc.capacity <= max(o.capacity for o in old), loc.name
        assert min(o.lead_time for o in old) <= loc.lead_time <= max(o.lead_time for o in old), loc.name
        assert loc.shipping_cost == cost_of[(loc.region, loc.lead_time)], loc.name
        for sku in medium.skus:
            low = min(o.initial_stock[sku.name] for o in old)
            high = max(o.initial_stock[sku.name] for o in old)
            assert low <= loc.initial_stock[sku.name] <= high, (loc.name, sku.name)
        assert sum(loc.initial_stock.values()) <= loc.capacity


def test_supply_is_as_tight_as_in_retail_medium(medium: Scenario, large: Scenario) -> None:
    """Supplier capacity over expected demand within 3 % of retail-medium's for every SKU (parka
    30 / 32.34 = 0.928 there, 50 / 53.68 = 0.931 here); base-stock level and opening DC stock in
    days of demand within 5 %."""
    assert daily_demand(medium, "parka") == pytest.approx(2.2 * (3 * 1.2 + 4 + 3 * 0.7) + 6 + 5)
    assert daily_demand(large, "parka") == pytest.approx(2.2 * (6 * 1.2 + 8 + 6 * 0.7) + 6 + 5)
    for sku in (s.name for s in medium.skus):
        ratio = daily_demand(large, sku) / daily_demand(medium, sku)
        assert 1.6 <= ratio <= 1.8, sku  # the description's "about 1.6 to 1.8 times"
        cover = [s.supplier.capacity_per_period[sku] / daily_demand(s, sku) for s in (medium, large)]
        assert cover[1] == pytest.approx(cover[0], rel=0.03), sku
        levels = [s.supplier.replenishment.level[sku] / daily_demand(s, sku) for s in (medium, large)]
        assert levels[1] == pytest.approx(levels[0], rel=0.05), sku
        opening = [s.dc.initial_stock[sku] / daily_demand(s, sku) for s in (medium, large)]
        assert opening[1] == pytest.approx(opening[0], rel=0.05), sku


def test_the_scenarios_page_lists_every_preset_with_its_size() -> None:
    """docs/scenarios.md's preset table: one row per preset, periods, SKUs and locations as shipped."""
    page = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
    rows = re.findall(r"^\| `([\w-]+)` \| (\d+), (\d+), ([^|]+) \|", page.read_text(encoding="utf-8"), re.M)
    assert sorted(name for name, *_ in rows) == preset_names()
    for name, periods, skus, locations in rows:
        scenario = load_scenario(name)
        assert (int(periods), int(skus)) == (scenario.periods, len(scenario.skus)), name
        assert sum(int(n) for n in re.findall(r"\d+", locations)) == len(scenario.locations), name
