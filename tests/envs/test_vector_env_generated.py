"""The native vector env against the single env on generated scenarios (hypothesis).

Copies 0 and 1 of a vector env of 2 equal two single envs on scenarios that vary the features
that change the period cycle; every copy keeps the invariants.
``ALLOCSIM_DIFF_EXAMPLES`` sets the number of generated scenarios (default 300).
"""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from envs_testkit import STYLES, make_action
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from vector_testkit import Env, Obs, lockstep

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import Scenario, scenario_from_dict
from allocsim.envs.vector_env import AllocationVectorEnv

DIFF_EXAMPLES = int(os.environ.get("ALLOCSIM_DIFF_EXAMPLES", "300"))


NAME = st.sampled_from
money = st.floats(0.0, 5.0, allow_nan=False).map(lambda x: round(x, 2))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[int, str, str, str, int]] | None]:
    """A small scenario dict, and demand CSV rows to write when its demand is a replayed history."""
    periods = draw(st.integers(2, 16))
    skus = [f"s{i}" for i in range(draw(st.integers(1, 3)))]
    channels = [f"c{i}" for i in range(draw(st.integers(1, 3)))]
    n_locations = draw(st.integers(1, 3))
    locations = [f"l{i}" for i in range(n_locations)]

    sku_rows = []
    for sku in skus:
        cost = draw(st.integers(1, 20))
        row: dict[str, Any] = {
            "name": sku,
            "unit_cost": cost,
            "price": {c: round(cost * draw(st.floats(0.8, 3.0)), 2) for c in channels},
            "holding_cost": draw(money) / 5,
            "salvage_value": round(cost * draw(st.floats(0.0, 1.0)), 2),
        }
        if draw(st.booleans()):
            row["shelf_life"] = draw(st.integers(1, 8))
        ages = draw(st.lists(st.integers(0, 9), max_size=3, unique=True))
        row["markdown"] = [{"age": a, "discount": round(draw(st.floats(0.0, 0.9)), 2)} for a in sorted(ages)]
        sku_rows.append(row)

    channel_rows = []
    for name in channels:
        row = {
            "name": name,
            "unmet": draw(NAME(["lost", "backorder", "mix"])),
            "backorder_fraction": round(draw(st.floats(0.0, 1.0)), 2),
            "patience": draw(st.integers(1, 4)),
            "shortage_penalty": draw(money),
            "backorder_cost": draw(money) / 5,
            "priority": draw(st.integers(0, 3)),
            "receivable_days": draw(st.integers(0, 3)),
            "advance_notice": draw(st.integers(0, 2)),
        }
        if draw(st.integers(0, 2)) == 0:
            rights = draw(st.dictionaries(NAME(skus), st.integers(1, 8), min_size=1))
            row["contract"] = {"rights": rights, "penalty_per_unit_short": draw(money) * 4}
        channel_rows.append(row)

    location_rows = []
    serves: dict[str, list[str]] = {}
    for name in locations:
        served = draw(st.lists(NAME(channels), min_size=1, max_size=len(channels), unique=True))
        serves[name] = served
        stock = draw(st.dictionaries(NAME(skus), st.integers(0, 8)))
        row = {
            "name": name,
            "region": draw(NAME(["r0", "r1"])),
            "channels": served,
            "lead_time": draw(st.integers(0, 3)),
            "shipping_cost": draw(money) / 5,
            "initial_stock": stock,
        }
        if draw(st.booleans()):
            row["capacity"] = max(1, sum(stock.values()) + draw(st.integers(0, 30)))
        location_rows.append(row)

    lanes = []
    if n_locations >= 2:
        pairs = [(a, b) for a in locations for b in locations if a != b]
        for source, target in draw(st.lists(NAME(pairs), max_size=3, unique=True)):
            lane: dict[str, Any] = {"from": source, "to": target, "lead_time": draw(st.integers(0, 2)),
                                    "cost_per_unit": draw(money) / 5}
            if draw(st.booleans()):
                lane["approval_threshold"] = draw(st.integers(0, 5))
                lane["approval_delay"] = draw(st.integers(0, 3))
            lanes.append(lane)

    if draw(st.booleans()):
        low = draw(st.integers(0, 2))
        lead: dict[str, Any] = {"kind": "uniform", "low": low, "high": low + draw(st.integers(0, 3))}
    else:
        lead = {"kind": "fixed", "periods": draw(st.integers(0, 3))}
    rule = draw(NAME(["none", "base-stock", "min-max", "policy"]))
    levels = {s: draw(st.integers(0, 40)) for s in skus}
    replenishment: dict[str, Any] = {"rule": rule}
    if rule == "base-stock":
        replenishment["level"] = levels
    elif rule == "min-max":
        replenishment["min"] = levels
        replenishment["max"] = {s: v + draw(st.integers(0, 20)) for s, v in levels.items()}
    elif rule == "policy":
        replenishment["max_order"] = levels
    receipt = st.tuples(st.integers(0, periods - 1), NAME(skus), st.integers(0, 20))
    receipts = draw(st.lists(receipt, max_size=3))
    supplier = {
        "lead_time": lead,
        "capacity_per_period": draw(st.dictionaries(NAME(skus), st.integers(0, 30))),
        "payable_days": draw(st.integers(0, 3)),
        "inbound_schedule": [{"period": p, "sku": s, "quantity": q} for p, s, q in receipts],
        "replenishment": replenishment,
    }
    dc = {
        "initial_stock": {s: draw(st.integers(0, 40)) for s in skus},
        "safety_reserve": draw(st.dictionaries(NAME(skus), st.integers(0, 5))),
    }

    csv_rows = None
    if draw(st.integers(0, 3)) == 0:
        lane_keys = [(loc, c) for loc in locations for c in serves[loc]]
        csv_rows = [
            (p, s, loc, c, q)
            for p, s, (loc, c), q in draw(st.lists(
                st.tuples(st.integers(0, periods - 1), NAME(skus), NAME(lane_keys), st.integers(0, 8)),
                min_size=1, max_size=12,  # a header-only history is refused ("no demand rows")
            ))
        ]
        first = lane_keys[0]  # the history must reach the last period (a zero row where nothing sold)
        csv_rows.append((periods - 1, skus[0], first[0], first[1], 0))
        demand: dict[str, Any] = {"csv": "to be written"}
    else:
        streams = []
        for _ in range(draw(st.integers(1, 3))):
            loc = draw(NAME(["*", *locations]))
            options = ["*", *(serves[loc] if loc != "*" else channels)]
            stream: dict[str, Any] = {
                "sku": draw(NAME(["*", *skus])),
                "location": loc,
                "channel": draw(NAME(options)),
                "distribution": draw(NAME(["poisson", "negative_binomial", "normal"])),
                "mean": round(draw(st.floats(0.0, 6.0)), 2),
                "dispersion": round(draw(st.floats(0.5, 5.0)), 2),
                "cv": round(draw(st.floats(0.0, 1.0)), 2),
            }
            if draw(st.booleans()):
                start = draw(st.integers(0, periods - 1))
                stream["promotions"] = [{"start": start, "end": start + draw(st.integers(0, 3)),
                                         "lift": round(draw(st.floats(0.5, 3.0)), 2)}]
            streams.append(stream)
        demand = {"streams": streams,
                  "regional_scale": draw(st.dictionaries(NAME(["r0", "r1"]), st.floats(0.5, 2.0)))}
    demand["regional_scale"] = {
        r: v for r, v in demand.get("regional_scale", {}).items() if r in {x["region"] for x in location_rows}
    }

    guardrails: dict[str, Any] = {"enforce_capacity": draw(st.integers(0, 3)) > 0,
                                  "aging_goal": draw(st.integers(0, 10))}
    if draw(st.booleans()):
        guardrails["working_capital_cap"] = draw(st.integers(50, 3000))
    if draw(st.booleans()):
        guardrails["max_days_of_supply"] = round(draw(st.floats(0.5, 10.0)), 2)
    weights = draw(st.dictionaries(NAME(["profit", "lost_units", "inventory_value", "aged_units"]),
                                   st.floats(-2.0, 2.0).map(lambda x: round(x, 2)), min_size=1))
    data = {
        "name": "generated",
        "periods": periods,
        "skus": sku_rows,
        "channels": channel_rows,
        "supplier": supplier,
        "dc": dc,
        "locations": location_rows,
        "transfers": lanes,
        "demand": demand,
        "forecast": {"noise_cv": round(draw(st.floats(0.0, 0.5)), 2),
                     "bias": round(draw(st.floats(-0.5, 0.5)), 2), "horizon": draw(st.integers(1, 5))},
        "guardrails": guardrails,
        "objective": {"weights": weights, "scale": draw(NAME([1.0, 0.5, 0.01]))},
    }
    return data, csv_rows


_csv_names = itertools.count()


def build_scenario(folder: Path, data: dict[str, Any], csv_rows: list[tuple[Any, ...]] | None) -> Scenario:
    """Validate ``data``, first writing its demand history to a CSV in ``folder`` if it has one."""
    if csv_rows is not None:
        path = folder / f"demand-{next(_csv_names)}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["period", "sku", "location", "channel", "quantity"])
            writer.writerows(csv_rows)
        data = {**data, "demand": {"csv": str(path)}}
    return scenario_from_dict(data, source="generated")


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where generated scenarios write their demand CSVs (module-scoped: hypothesis reruns the test)."""
    return tmp_path_factory.mktemp("demand-csv")


@settings(max_examples=DIFF_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=scenarios(), seed=st.integers(0, 2**32 - 1), action_seed=st.integers(0, 2**32 - 1),
       style=st.sampled_from(STYLES), hold=st.integers(0, 12))
@pytest.mark.slow
def test_copies_equal_the_single_env_on_generated_scenarios(
    csv_folder: Path, case: tuple[dict[str, Any], Any], seed: int, action_seed: int, style: str, hold: int
) -> None:
    """Copies 0 and 1 of a vector env of 2 equal two single envs; every copy keeps the invariants."""
    scenario = build_scenario(csv_folder, *case)
    venv = AllocationVectorEnv(2, scenario)
    singles = [AllocationEnv(scenario) for _ in range(2)]
    rngs = [np.random.default_rng([action_seed, i]) for i in range(2)]

    def act(i: int, t: int, env: Env, obs: Obs) -> NDArray[np.float32]:
        return make_action(env.unwrapped, rngs[i], style, t, hold)

    lockstep(venv, singles, seed, act, check=True)
    for name in coverage(scenario, venv):
        event(name)


def coverage(scenario: Scenario, venv: AllocationVectorEnv) -> list[str]:
    """Labels of what a generated example exercised (shown by ``--hypothesis-show-statistics``)."""
    sup, rails = scenario.supplier, scenario.guardrails
    labels = [f"demand {'csv' if scenario.demand.csv else 'streams'}", f"orders {sup.replenishment.rule}",
              f"supplier lead {sup.lead_time.kind}"]
    labels += [f"unmet {kind}" for kind in sorted({c.unmet for c in scenario.channels})]
    flags = {
        "shelf life": any(s.shelf_life for s in scenario.skus),
        "markdowns": any(s.markdown for s in scenario.skus),
        "transfer lanes": bool(scenario.transfers),
        "approval threshold": any(x.approval_threshold is not None for x in scenario.transfers),
        "contracts": any(c.contract for c in scenario.channels),
        "working capital cap": rails.working_capital_cap is not None,
        "days-of-supply cap": rails.max_days_of_supply is not None,
        "capacity not enforced": not rails.enforce_capacity,
    }
    kpis = [k for k in venv.last_episode_kpis if k is not None]
    flags |= {
        "played: backorders": any(k["backorder_units"] > 0 for k in kpis),
        "played: write-offs": any(k["writeoff_cost"] > 0 for k in kpis),
        "played: markdown sales": any(k["markdown_cost"] > 0 for k in kpis),
        "played: transfers": any(k["transfer_cost"] > 0 for k in kpis),
        "played: contract shortfall": any(k["contract_attainment"] < 100 for k in kpis),
    }
    return labels + [name for name, on in flags.items() if on]


