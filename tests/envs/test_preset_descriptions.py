"""Preset descriptions say what the scenario holds (issue 24 item 14: tiny-dp's stores were said to
"differ in price and penalty" although both sell through one channel)."""

from __future__ import annotations

import pytest

from allocsim.envs.scenario import load_scenario, preset_names


@pytest.mark.parametrize("name", preset_names())
def test_stores_sharing_their_channels_are_not_said_to_differ_in_price_or_penalty(name: str) -> None:
    scenario = load_scenario(name)
    channel_sets = {tuple(location.channels) for location in scenario.locations}
    if len(channel_sets) == 1:  # price and penalty are per SKU and channel: the same at every location
        text = " ".join(scenario.description.split()).lower()
        assert "differ in price" not in text and "differ in penalty" not in text, name


def test_tiny_dp_names_what_its_stores_differ_in() -> None:
    """Read off the YAML: one channel; shipping cost 0.5 and 1.5; demand 1.0 x regional scale 1.2 and 0.8."""
    scenario = load_scenario("tiny-dp")
    text = " ".join(scenario.description.split())
    assert [c.name for c in scenario.channels] == ["store"]
    assert [loc.shipping_cost for loc in scenario.locations] == [0.5, 1.5]
    assert scenario.demand.regional_scale == {"a": 1.2, "b": 0.8}
    assert "same price and shortage penalty" in text
    assert "shipping cost (0.5 a unit to store-a, 1.5 to store-b)" in text
    assert "demand (store-a 1.2 and store-b 0.8 units a day on average)" in text


@pytest.mark.parametrize("name", preset_names())
def test_a_description_that_speaks_of_timing_modes_names_the_default_one(name: str) -> None:
    """strategic-holdback-decision defaults to aggregated mode, yet its text spoke of events mode only
    (spot in the morning, contract in the afternoon, rules tuned in events mode)."""
    scenario = load_scenario(name)
    text = " ".join(scenario.description.split()).lower()
    if "events" in text or "aggregated" in text or "--timing" in text:
        assert f"in {scenario.timing.mode} mode (the default)" in text, name
