"""The tests' scenario builder fills the shared defaults and passes everything else through."""

from __future__ import annotations

from scenario_kit import build_scenario, scenario_data


def test_named_rows_get_the_shared_defaults_and_mappings_stay_as_given() -> None:
    data = scenario_data("kit", 3, skus=("a", {"name": "b", "unit_cost": 5, "price": {"c": 9, "d": 9}}),
                         channels=("c", {"name": "d", "priority": 2}), locations=("x",),
                         dc={"initial_stock": {"a": 4}})
    assert data["skus"] == [
        {"name": "a", "unit_cost": 1.0, "price": {"c": 2.0, "d": 2.0}, "holding_cost": 0.0},
        {"name": "b", "unit_cost": 5, "price": {"c": 9, "d": 9}}]
    assert data["channels"] == [{"name": "c"}, {"name": "d", "priority": 2}]
    assert data["locations"] == [{"name": "x", "channels": ["c", "d"]}]
    assert data["dc"] == {"initial_stock": {"a": 4}} and data["demand"] == {"streams": [{"mean": 1.0}]}
    scenario = build_scenario("kit", 3, skus=("a", "b"), locations=("x", "y"))
    assert [s.name for s in scenario.skus] == ["a", "b"] and len(scenario.locations) == 2
