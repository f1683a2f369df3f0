"""The priority and myopic-lp rules' ``holdback``: a share of on-hand stock kept for the protected
channels when the scenario has ``timing.holdback_decision``; 0 is the rule without it."""

from __future__ import annotations

import numpy as np
import pytest

from allocsim.baselines.common import HOLDBACK_GRID
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.experiments.aggregation_gap import without_holdbacks
from allocsim.experiments.evaluation import PolicySpec, evaluate
from allocsim.experiments.grids import grid_points

PRESET = "strategic-holdback-decision"
SEEDS = [10_000, 10_001, 10_002]
COMPARED = ("profit", "fill_rate", "lost_sales_units", "shortage_penalty", "revenue", "holding_cost")


def rows_of(scenario: Scenario, policy: str, params: dict[str, float]) -> list[dict[str, float]]:
    rows = evaluate(scenario, [PolicySpec(policy, params, policy)], SEEDS, n_workers=1)
    return sorted(rows, key=lambda r: r["seed"])


@pytest.mark.parametrize("policy", ["priority", "myopic-lp"])
def test_holdback_zero_is_the_rule_without_the_decision(policy: str) -> None:
    scenario = load_scenario(PRESET, "events")
    with_zero = rows_of(scenario, policy, {"holdback": 0.0})
    plain = rows_of(without_holdbacks(scenario), policy, {})
    for a, b in zip(with_zero, plain, strict=True):
        assert {k: a[k] for k in COMPARED} == {k: b[k] for k in COMPARED}


def test_a_full_holdback_keeps_stock_for_contract_orders() -> None:
    """Spot orders come before contract orders; holding back all stock on hand at the decision
    lowers the contract shortage penalty on every seed."""
    scenario = load_scenario(PRESET, "events")
    none = rows_of(scenario, "priority", {"holdback": 0.0})
    full = rows_of(scenario, "priority", {"holdback": 1.0})
    assert all(f["shortage_penalty"] < n["shortage_penalty"] for f, n in zip(full, none, strict=True))


def test_tune_searches_holdback_only_with_the_decision() -> None:
    plain, decided = grid_points("priority"), grid_points("priority", holdback=True)
    assert all("holdback" not in p for p in plain)
    assert len(decided) == len(plain) * len(HOLDBACK_GRID)
    assert sorted({p["holdback"] for p in decided}) == sorted(HOLDBACK_GRID)
    assert grid_points("balanced", holdback=True) == grid_points("balanced")  # no holdback parameter


def test_holdback_share_is_validated() -> None:
    from pydantic import ValidationError

    from allocsim.baselines.priority import PriorityParams

    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValidationError):
            PriorityParams(holdback=bad)
    assert np.isclose(PriorityParams(holdback=0.5).holdback, 0.5)
