"""The Lagrangian bound with contracts: a contracted channel sold at one location is its lane's own.

The lane takes the contract's rows in its fallback LP; checked by hand on two-period lanes, against the
previous code with the rights at 0, and above the played policies on contracts-scarce.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import allocsim
from allocsim.baselines.lagrangian_bound import (
    Split,
    fallback_block,
    fit_multipliers,
    lagrangian_bound,
    refusal,
)
from allocsim.baselines.lp_builder import LPBuilder
from allocsim.baselines.registry import make_policy
from allocsim.baselines.tuned_params import load_tuned
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.network import Network
from allocsim.envs.scenario import scenario_from_dict
from allocsim.experiments.bound_choice import mean_ci95
from allocsim.experiments.evaluation import run_episode

PRICE = (25.0, 10.0)  # a fixed DC price per SKU (chip-a, chip-b) for the differential checks


def _preset(**contract: Any) -> dict[str, Any]:
    """contracts-scarce's scenario as data, its strategic contract updated with ``contract``."""
    data = yaml.safe_load((Path(allocsim.__file__).parent / "envs/presets/contracts-scarce.yaml").read_text())
    data["channels"][0]["contract"].update(contract)
    return data


@functools.cache
def _env(rights_a: float, rights_b: float, penalty: float = 25.0) -> AllocationEnv:
    data = _preset(rights={"chip-a": rights_a, "chip-b": rights_b}, penalty_per_unit_short=penalty)
    return AllocationEnv(scenario_from_dict(data))


def _bound(env: AllocationEnv, seed: int) -> float:
    price = np.tile(PRICE, (env.network.periods, 1))
    return lagrangian_bound(env.network, env.profile, price, seed).bound


def _two_period(rights: int, unmet: dict[str, Any]) -> Network:
    """One SKU (cost 10, price 14, holding 0.1, salvage 10), one same-day location with a contracted channel
    (penalty 25 a unit short, no shortage penalty), shipping 1."""
    channel = {"name": "strategic", "shortage_penalty": 0, "priority": 1, **unmet,
               "contract": {"rights": {"chip": rights}, "penalty_per_unit_short": 25}}
    return Network.compile(scenario_from_dict({
        "name": "two-period-contract", "periods": 2,
        "skus": [{"name": "chip", "unit_cost": 10, "price": {"strategic": 14}, "holding_cost": 0.1,
                  "salvage_value": 10}],
        "channels": [channel],
        "supplier": {"lead_time": {"kind": "fixed", "periods": 1}, "replenishment": {"rule": "none"}},
        "dc": {"name": "DC", "initial_stock": {"chip": 10}},
        "locations": [{"name": "ka", "channels": ["strategic"], "lead_time": 0, "shipping_cost": 1,
                       "initial_stock": {"chip": 0}}],
        "demand": {"streams": [{"channel": "strategic", "sku": "chip", "mean": 3.0}]},
    }))


LOST = {"unmet": "lost"}
WAITS = {"unmet": "backorder", "patience": 1, "backorder_cost": 0.5}


@pytest.mark.parametrize(("rights", "unmet", "demand", "lam", "value"), [
    # units cost 12 + 1 in period 0 and 20 + 1 in period 1; a sale earns 4, a unit short costs 25: buy 5 in
    # period 0, sell 3 (the rights) and keep 2 (holding 0.1 each) for period 1's 2: 5 x 4 - 5 x 13 - 0.2
    (3, LOST, [5, 2], [12.0, 20.0], -45.2),
    (0, LOST, [5, 2], [12.0, 20.0], 0.0),  # no contract: no sale earns its cost
    # a sale in period 0 costs 41 - 4 = 37 > the 25 short; serving the waiting units in period 1 (14 - 3.5)
    # would earn no right back (period 1 owes nothing): 3 units short, -75
    (3, WAITS, [3, 0], [40.0, 13.0], -75.0),
])
def test_a_two_period_contract_lane_by_hand(rights: int, unmet: dict[str, Any], demand: list[int],
                                           lam: list[float], value: float) -> None:
    lp = LPBuilder()
    fallback_block(lp, _two_period(rights, unmet), np.array(demand)[:, None], 0, 0, -np.array(lam))
    assert lp.solve().objective == pytest.approx(value, abs=1e-6)


def test_contracts_scarce_is_accepted_with_its_contract_lanes_in_the_fallback() -> None:
    env = AllocationEnv("contracts-scarce")
    net = env.network
    assert refusal(net, env.profile) is None
    split = Split.of(net, env.profile)
    assert set(split.fallback) == {(net.locations.index("key-accounts"), s) for s in range(net.n_skus)}
    others = {net.locations.index(name) for name in ("store-east", "store-west", "web-fc")}
    assert {lane.loc for lane in split.dp} == others


def test_a_contracted_channel_sold_at_two_locations_is_refused() -> None:
    data = _preset()
    data["locations"][1]["channels"] = ["store", "strategic"]  # store-east sells the contracted channel too
    env = AllocationEnv(scenario_from_dict(data))
    reason = refusal(env.network, env.profile)
    assert reason is not None and "strategic" in reason and "several locations" in reason


def test_without_rights_the_bound_is_the_previous_codes() -> None:
    """Rights 0: the value the code before contract lanes gave (commit 6550353, seed 3, prices 25 / 10)."""
    assert _bound(_env(0.0, 0.0), 3) == pytest.approx(52_400.18195282857, rel=1e-9)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_a_free_contract_changes_nothing_and_a_priced_one_only_lowers_the_bound(seed: int) -> None:
    free, none = _bound(_env(8.0, 12.0, penalty=0.0), seed), _bound(_env(0.0, 0.0), seed)
    assert free == pytest.approx(none, rel=1e-9)
    assert _bound(_env(8.0, 12.0), seed) < none - 1.0


@pytest.mark.slow
def test_the_bound_is_above_the_priority_rule_beyond_both_intervals() -> None:
    """Any prices give a valid bound: the fitted ones on 30 test seeds against the tuned priority rule."""
    env = AllocationEnv("contracts-scarce")
    price = fit_multipliers(env.network, env.profile, list(range(19_990, 19_994))).price
    seeds = range(40_000, 40_030)
    bound = mean_ci95([lagrangian_bound(env.network, env.profile, price, s).bound for s in seeds])
    policy = make_policy("priority", env, seed=0, **(load_tuned("contracts-scarce", "priority", None) or {}))
    played = mean_ci95([run_episode(env, policy, s)["profit"] for s in seeds])
    assert bound[0] - bound[1] > played[0] + played[1]
