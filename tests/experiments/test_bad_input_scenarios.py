"""Bad-input corpus, part 1: scenario YAML (every numeric field past its bound, of the wrong type,
NaN/inf; broken files) and demand CSV, through the real CLI. Each case fails validation before
anything steps the env (see corpus_kit for what a clean exit is).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from corpus_kit import clean_exit, dump, runner

from allocsim.baselines.safe_paths import child_path
from allocsim.core.limits import MAX_UNITS
from allocsim.envs.scenario import scenario_from_dict
from allocsim.experiments.cli import app

# ==================================================================== scenario YAML
BASE: dict[str, Any] = {
    "name": "corpus",
    "periods": 10,
    "skus": [{"name": "A", "unit_cost": 10.0, "price": {"store": 20.0}, "holding_cost": 0.1,
              "shelf_life": 30, "markdown": [{"age": 5, "discount": 0.2}], "salvage_value": 1.0}],
    "channels": [{"name": "store", "unmet": "mix", "backorder_fraction": 0.5, "patience": 2,
                  "shortage_penalty": 1.0, "backorder_cost": 0.1, "priority": 1, "receivable_days": 5,
                  "advance_notice": 1,
                  "contract": {"rights": {"A": 2.0}, "penalty_per_unit_short": 1.0}}],
    "supplier": {"lead_time": {"kind": "fixed", "periods": 2}, "capacity_per_period": {"A": 50},
                 "payable_days": 30, "inbound_schedule": [{"period": 1, "sku": "A", "quantity": 10}],
                 "replenishment": {"rule": "base-stock", "level": {"A": 40}}},
    "dc": {"initial_stock": {"A": 20}, "safety_reserve": {"A": 1}, "holding_cost": {"A": 0.05}},
    "locations": [
        {"name": "s1", "region": "north", "channels": ["store"], "capacity": 100, "lead_time": 1,
         "shipping_cost": 0.5, "initial_stock": {"A": 5}, "holding_cost": {"A": 0.2}},
        {"name": "s2", "region": "south", "channels": ["store"]},
    ],
    "transfers": [{"from": "s1", "to": "s2", "lead_time": 1, "cost_per_unit": 0.2,
                   "approval_threshold": 5, "approval_delay": 1}],
    "demand": {"streams": [{"mean": 3.0, "distribution": "negative_binomial", "dispersion": 2.0, "cv": 0.3,
                            "weekly": [1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2], "annual_amplitude": 0.1,
                            "annual_peak": 3, "trend": 0.001,
                            "promotions": [{"start": 2, "end": 4, "lift": 1.5}]}],
               "regional_scale": {"north": 1.2}},
    "forecast": {"noise_cv": 0.2, "bias": 0.0, "horizon": 3},
    "guardrails": {"working_capital_cap": 10000.0, "max_days_of_supply": 10.0, "aging_goal": 7},
    "objective": {"weights": {"profit": 1.0, "lost_units": -0.5}, "scale": 1.0},
}

# (path, lowest, highest) of every whole-number field
INT_FIELDS: list[tuple[str, int, int]] = [
    ("periods", 1, 3650),
    ("skus.0.shelf_life", 1, 365),
    ("skus.0.markdown.0.age", 0, 365),
    ("channels.0.patience", 1, 365),
    ("channels.0.priority", -1000, 1000),
    ("channels.0.receivable_days", 0, 365),
    ("channels.0.advance_notice", 0, 365),
    ("supplier.lead_time.periods", 0, 365),
    ("supplier.capacity_per_period.A", 0, MAX_UNITS),
    ("supplier.payable_days", 0, 365),
    ("supplier.inbound_schedule.0.period", 0, 3650),
    ("supplier.inbound_schedule.0.quantity", 0, MAX_UNITS),
    ("supplier.replenishment.level.A", 0, MAX_UNITS),
    ("dc.initial_stock.A", 0, MAX_UNITS),
    ("dc.safety_reserve.A", 0, MAX_UNITS),
    ("locations.0.capacity", 1, MAX_UNITS),
    ("locations.0.lead_time", 0, 365),
    ("locations.0.initial_stock.A", 0, MAX_UNITS),
    ("transfers.0.lead_time", 0, 365),
    ("transfers.0.approval_threshold", 0, MAX_UNITS),
    ("transfers.0.approval_delay", 0, 365),
    ("demand.streams.0.annual_peak", 0, 3650),
    ("demand.streams.0.promotions.0.start", 0, 3650),
    ("demand.streams.0.promotions.0.end", 0, 3650),
    ("forecast.horizon", 1, 28),
    ("guardrails.aging_goal", 0, 365),
]
# (path, lowest, highest) of every real-number field
FLOAT_FIELDS: list[tuple[str, float, float]] = [
    ("skus.0.unit_cost", 0.0, 1e9),
    ("skus.0.price.store", 0.0, 1e9),
    ("skus.0.holding_cost", 0.0, 1e9),
    ("skus.0.markdown.0.discount", 0.0, 1.0),
    ("skus.0.salvage_value", 0.0, 1e9),
    ("channels.0.backorder_fraction", 0.0, 1.0),
    ("channels.0.shortage_penalty", 0.0, 1e9),
    ("channels.0.backorder_cost", 0.0, 1e9),
    ("channels.0.contract.rights.A", 0.0, 1e9),
    ("channels.0.contract.penalty_per_unit_short", 0.0, 1e9),
    ("locations.0.shipping_cost", 0.0, 1e9),
    ("locations.0.holding_cost.A", 0.0, 1e9),
    ("dc.holding_cost.A", 0.0, 1e9),
    ("transfers.0.cost_per_unit", 0.0, 1e9),
    ("demand.streams.0.mean", 0.0, 1e9),
    ("demand.streams.0.dispersion", 0.01, 1e6),
    ("demand.streams.0.cv", 0.0, 10.0),
    ("demand.streams.0.weekly.0", 0.0, 1000.0),
    ("demand.streams.0.annual_amplitude", 0.0, 1.0),
    ("demand.streams.0.trend", -0.05, 0.05),
    ("demand.streams.0.promotions.0.lift", 0.0, 1000.0),
    ("demand.regional_scale.north", 0.0, 1000.0),
    ("forecast.noise_cv", 0.0, 2.0),
    ("forecast.bias", -0.9, 1.0),
    ("guardrails.working_capital_cap", 0.0, 1e21),
    ("guardrails.max_days_of_supply", 0.0, 365.0),
    ("objective.weights.profit", -1e6, 1e6),
    ("objective.weights.lost_units", -1e6, 1e6),
    ("objective.scale", 0.0, 1e6),
]


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    keys: list[Any] = [int(k) if k.isdigit() else k for k in dotted.split(".")]
    node: Any = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return data


def _field_cases() -> list[tuple[str, Any, str]]:
    """(path, bad value, how the message shows it) for every numeric field."""
    cases: list[tuple[str, Any, str]] = []
    for path, low, high in INT_FIELDS:
        cases += [(path, high * 10 + 1, str(high * 10 + 1)), (path, True, "True"), (path, 2.5, "2.5"),
                  (path, low - 1, str(low - 1))]
    cases.append(("periods", 10**30, str(10**30)))
    for path, low, _high in FLOAT_FIELDS:
        cases += [(path, 1e300, "1e+300"), (path, math.nan, "nan"), (path, -math.inf, "-inf"),
                  (path, True, "True")]
        below = low - (1.0 if low > -1 else 1e7)
        cases.append((path, below, repr(below)))
    return cases


FIELD_CASES = _field_cases()


def test_the_base_scenario_is_valid() -> None:
    """Each case below breaks exactly one field of this valid scenario."""
    assert scenario_from_dict(copy.deepcopy(BASE)).name == "corpus"


def _simulate(path: Path) -> Any:
    return runner.invoke(app, ["simulate", "--scenario", str(path), "--episodes", "1"])


@pytest.mark.parametrize(("path", "value", "shown"), FIELD_CASES,
                         ids=[f"{p}={v!r}" for p, v, _ in FIELD_CASES])
def test_numeric_field_out_of_bounds_or_wrong_type(tmp_path: Path, path: str, value: Any, shown: str) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(dump(_set(copy.deepcopy(BASE), path, value)))
    keys = [k for k in path.split(".") if not k.isdigit()]
    text = clean_exit(_simulate(file), str(file), keys[0], keys[-1], shown)
    assert "got" in text


SCENARIO_FILES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "binary": (lambda p: p.write_bytes(b"\x00\x01\xff\xfe" * 100), ["not UTF-8"]),
    "utf-16": (lambda p: p.write_text(dump(BASE), encoding="utf-16"), ["not UTF-8"]),
    "latin-1": (lambda p: p.write_bytes((dump(BASE) + "description: café\n").encode("latin-1")),
                ["not UTF-8"]),
    "nul bytes in UTF-8": (lambda p: p.write_text("name: a\x00b\n"), ["unacceptable character #x0000"]),
    "20 MB value under an unknown key": (
        lambda p: p.write_text(dump(BASE) + "colour: " + "x" * 20_000_000 + "\n"),
        ["colour", "Extra inputs", "characters)"]),
    "a 100 KB unknown key": (lambda p: p.write_text(dump({**BASE, "k" * 100_000: 1})),
                             ["Extra inputs", "characters)"]),
    "an integer of 5,000 digits": (lambda p: p.write_text(dump(BASE) + "currency: 1\n"
                                                          .replace("1", "9" * 5000)),
                                   ["digits"]),
    "nested 100,000 deep": (lambda p: p.write_text("name: " + "[" * 100_000 + "]" * 100_000 + "\n"),
                            ["nesting depth"]),
    "not a mapping": (lambda p: p.write_text("- 1\n- 2\n"), ["mapping", "list"]),
    "empty": (lambda p: p.write_text(""), ["mapping", "NoneType"]),
    "name that climbs out of tuned/": (lambda p: p.write_text(dump({**BASE, "name": "../../x"})),
                                       ["name", "'../../x'"]),
    "name with a slash": (lambda p: p.write_text(dump({**BASE, "name": "a/b"})), ["name", "'a/b'"]),
    "periods: 1e12 (a number, not a string)": (
        lambda p: p.write_text(dump(BASE).replace("periods: 10", "periods: 1e12")),
        ["periods", "1000000000000.0"]),
    "capacity: 1e30": (
        lambda p: p.write_text(dump(BASE).replace("capacity: 100", "capacity: 1e30")),
        ["locations.0.capacity", "1e+30"]),
    "bool for the capacity switch": (
        lambda p: p.write_text(dump(_set(copy.deepcopy(BASE), "guardrails.enforce_capacity", 1))),
        ["guardrails.enforce_capacity", "(got 1)"]),
    "string for a number": (lambda p: p.write_text(dump(_set(copy.deepcopy(BASE), "periods", "ti"))),
                            ["periods", "'ti'"]),
    "horizon too large for memory": (
        lambda p: p.write_text(dump({
            **_set(copy.deepcopy(BASE), "periods", 3650),
            "skus": [{**BASE["skus"][0], "name": f"K{i}"} for i in range(1000)],
            "dc": {}, "locations": [{**BASE["locations"][1], "name": f"L{i}"} for i in range(20)],
            "transfers": [], "channels": [{"name": "store"}]})),
        ["periods", "cells"]),
    "base-stock level that floods the network": (
        lambda p: p.write_text(dump(_set(_set(_set(copy.deepcopy(BASE), "periods", 3650),
                                                        "supplier.replenishment.level.A", MAX_UNITS),
                                                   "supplier.capacity_per_period.A", MAX_UNITS))),
        ["supplier.replenishment.level.A", "at most 1e+12"]),
    "demand that peaks beyond 1e9 per period": (
        lambda p: p.write_text(dump(_set(copy.deepcopy(BASE), "demand.streams.0.mean", 9e8))),
        ["demand.streams.0", "expected demand reaches", "at most 1e+09"]),
    "a trend compounding over ten years": (
        lambda p: p.write_text(dump(_set(_set(copy.deepcopy(BASE), "periods", 3650),
                                                   "demand.streams.0.trend", 0.05))),
        ["demand.streams.0", "expected demand reaches"]),
}


@pytest.mark.parametrize("case", sorted(SCENARIO_FILES))
def test_broken_scenario_file(tmp_path: Path, case: str) -> None:
    write, needles = SCENARIO_FILES[case]
    file = tmp_path / "s.yaml"
    write(file)
    clean_exit(_simulate(file), str(file), *needles)


# bad ``timing`` blocks: (the block, words the one-line message must hold)
TIMING_CASES: dict[str, tuple[Any, list[str]]] = {
    "unknown mode": ({"mode": "detailed"}, ["timing.mode", "'detailed'"]),
    "unknown service": ({"service": "lifo"}, ["timing.service", "'lifo'"]),
    "arrival time of 1": ({"location_arrival": {"s1": 1.0}}, ["timing.location_arrival.s1", "1.0"]),
    "negative supplier arrival": ({"supplier_arrival": -0.1}, ["timing.supplier_arrival", "-0.1"]),
    "arrival at an unknown location": ({"location_arrival": {"s9": 0.5}},
                                       ["timing.location_arrival", "unknown name 's9'"]),
    "profile for an unknown channel": ({"channels": {"web": {"profile": [1.0]}}},
                                       ["timing.channels", "unknown name 'web'"]),
    "profile of zeros": ({"channels": {"store": {"profile": [0.0, 0.0]}}},
                         ["timing.channels.store", "every weight is 0"]),
    "negative profile weight": ({"channels": {"store": {"profile": [1.0, -1.0]}}},
                                ["timing.channels.store.profile.1", "-1.0"]),
    "order sizes reversed": ({"channels": {"store": {"order_size": {"low": 50, "high": 10}}}},
                             ["timing.channels.store.order_size", "low 50 is above high 10"]),
    "order size 0": ({"channels": {"store": {"order_size": {"low": 0}}}},
                     ["timing.channels.store.order_size.low", "(got 0)"]),
    "holdback for an unknown channel": ({"holdbacks": [{"channel": "vip", "units": 2}]},
                                        ["timing.holdbacks.0.channel", "unknown name 'vip'"]),
    "negative holdback": ({"holdbacks": [{"channel": "store", "units": -2}]},
                          ["timing.holdbacks.0.units", "(got -2)"]),
    "holdback at an unknown SKU": ({"holdbacks": [{"channel": "store", "units": 2, "sku": "Z"}]},
                                   ["timing.holdbacks.0.sku", "unknown name 'Z'"]),
    "holdback protecting from nobody": ({"holdbacks": [{"channel": "store", "units": 2}]},
                                        ["timing.holdbacks.0.channel", "protect from nobody"]),
    "misspelt key": ({"mdoe": "events"}, ["timing.mdoe", "Extra inputs"]),
    "holdback decision for an unknown channel": ({"holdback_decision": {"channels": ["vip"]}},
                                                 ["timing.holdback_decision.channels", "unknown name 'vip'"]),
    "holdback decision for no channel": ({"holdback_decision": {"channels": []}},
                                         ["timing.holdback_decision.channels", "at least 1"]),
    "holdback decision protecting from nobody": (
        {"holdback_decision": {"channels": ["store"]}},
        ["timing.holdback_decision.channels", "protect from nobody"]),
    "holdback decision naming a channel twice": (
        {"holdback_decision": {"channels": ["store", "store"]}},
        ["timing.holdback_decision.channels", "'store' is listed twice"]),
    "holdback decision as a flag": ({"holdback_decision": True},
                                    ["timing.holdback_decision", "True"]),
}


@pytest.mark.parametrize("case", sorted(TIMING_CASES))
def test_bad_timing_block(tmp_path: Path, case: str) -> None:
    block, needles = TIMING_CASES[case]
    file = tmp_path / "s.yaml"
    file.write_text(dump({**copy.deepcopy(BASE), "timing": block}))
    clean_exit(_simulate(file), str(file), *needles)


def test_a_scenario_named_to_climb_out_cannot_make_tune_write_outside(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(dump({**BASE, "name": "../../escape"}))
    result = runner.invoke(app, ["tune", "--policy", "min-max", "--scenario", str(file), "--episodes", "1"])
    clean_exit(result, "name", "'../../escape'")
    assert not (tmp_path.parent / "escape").exists()


@pytest.mark.parametrize("names", [("..", "x.json"), ("../..", "x.json"), ("/etc", "x.json"), ("a", "")])
def test_child_path_refuses_names_that_leave_the_folder(tmp_path: Path, names: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="outside the folder"):
        child_path(tmp_path, *names)
    assert child_path(tmp_path, "retail-small", "min-max.json") == tmp_path / "retail-small" / "min-max.json"


def test_a_very_long_preset_name_is_shortened() -> None:
    result = runner.invoke(app, ["simulate", "--scenario", "p" * 100_000])
    clean_exit(result, "unknown scenario", "characters)")


# ==================================================================== demand CSV
HEADER = "period,sku,location,channel,quantity\n"
CSV_CASES: dict[str, tuple[bytes, list[str]]] = {
    "header only": (HEADER.encode(), ["no demand rows"]),
    "empty file": (b"", ["missing column"]),
    "missing quantity column": (b"period,sku,location,channel\n0,widget,store-a,store\n", ["quantity"]),
    "quantity of 23 digits": (f"{HEADER}0,widget,store-a,store,99999999999999999999999\n".encode(),
                              ["row 2", "'quantity'", "99999999999999999999999"]),
    "quantity of 5,000 digits": (f"{HEADER}0,widget,store-a,store,{'9' * 5000}\n".encode(),
                                 ["row 2", "'quantity'", "characters)"]),
    "quantity above 1e9": (f"{HEADER}0,widget,store-a,store,1000000001\n".encode(),
                           ["row 2", "'quantity'", "1000000001"]),
    "rows of one lane adding up above 1e9": (
        f"{HEADER}0,widget,store-a,store,600000000\n0,widget,store-a,store,600000000\n".encode(),
        ["row 3", "'quantity'", "1,200,000,000"]),
    "negative quantity": (f"{HEADER}0,widget,store-a,store,-4\n".encode(), ["row 2", "'quantity'", "-4"]),
    "decimal quantity": (f"{HEADER}0,widget,store-a,store,2.5\n".encode(), ["row 2", "'quantity'", "'2.5'"]),
    "superscript digit": (f"{HEADER}0,widget,store-a,store,²\n".encode(), ["row 2", "'quantity'", "'²'"]),
    "quantity in scientific notation": (f"{HEADER}0,widget,store-a,store,1e30\n".encode(),
                                        ["row 2", "'quantity'", "'1e30'"]),
    "period of 30 digits": (f"{HEADER}{'9' * 30},widget,store-a,store,1\n".encode(),
                            ["row 2", "'period'", "9" * 30]),
    "period beyond the horizon": (f"{HEADER}8,widget,store-a,store,1\n".encode(), ["row 2", "'period'", "8"]),
    "unknown sku": (f"{HEADER}0,gadget,store-a,store,1\n".encode(), ["row 2", "'sku'", "'gadget'"]),
    "unknown location": (f"{HEADER}0,widget,mall,store,1\n".encode(), ["row 2", "'location'", "'mall'"]),
    "unknown channel": (f"{HEADER}0,widget,store-a,phone,1\n".encode(), ["row 2", "'channel'", "'phone'"]),
    "200 KB field": (f"{HEADER}0,{'w' * 200_000},store-a,store,1\n".encode(), ["field larger than"]),
    "200 KB unknown sku under the field limit": (f"{HEADER}0,{'w' * 100_000},store-a,store,1\n".encode(),
                                                 ["row 2", "'sku'", "characters)"]),
    "utf-16": ((HEADER + "0,widget,store-a,store,1\n").encode("utf-16"), ["not UTF-8"]),
    "latin-1": ((HEADER + "0,widgét,store-a,store,1\n").encode("latin-1"), ["not UTF-8"]),
    "binary": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, ["not UTF-8"]),
    "NUL bytes": (HEADER.encode() + b"0,widget,store-a,store,1\x00\n", ["row", "NUL"]),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_broken_demand_csv(tmp_path: Path, case: str) -> None:
    data, needles = CSV_CASES[case]
    file = tmp_path / "history.csv"
    file.write_bytes(data)
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--demand-csv", str(file),
                                 "--episodes", "1", "--out", str(tmp_path / "out")])
    clean_exit(result, "history.csv", *needles)  # the path as typed, its start shortened when long
    assert not (tmp_path / "out").exists()
