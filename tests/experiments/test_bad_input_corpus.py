"""A corpus of malformed inputs through the real CLI: each exits 2 with one short line, no traceback.

Classes: scenario YAML (every numeric field past its bound, of the wrong type, NaN/inf; broken
files), demand CSV, JSON states, ONNX policy cards, sweep configs and option values. Every
case fails validation before anything steps the env, so the corpus runs in seconds.
Every message must name the field, row, key or option and show the bad value (shortened).
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from allocsim.agents.inference import OUTPUTS, largest_remainder
from allocsim.agents.policy_card import OBSERVATION_BLOCKS, PolicyCard
from allocsim.agents.state_input import parse_state
from allocsim.envs.scenario import scenario_from_dict
from allocsim.envs.scenario.limits import MAX_NETWORK_UNITS, MAX_UNITS
from allocsim.experiments.cli import app
from allocsim.experiments.files import child_path
from allocsim.experiments.sweep import expand
from allocsim.experiments.sweep_config import load_config

runner = CliRunner()
MAX_LINES = 3
MAX_LINE = 400


def dump(data: Any) -> str:
    """YAML text of ``data`` (libyaml's emitter when installed: the corpus writes a few hundred files)."""
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def clean_exit(result: Any, *needles: str) -> str:
    """Exit 2, no traceback, at most 3 short lines on stderr, each needle in them; the text."""
    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, result.output[-2000:])
    assert "Traceback" not in result.output and "Traceback" not in err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= MAX_LINES, lines[:5]
    assert all(len(line) <= MAX_LINE for line in lines), [len(line) for line in lines]
    for needle in needles:
        assert needle in err, (needle, err)
    return err


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
    "dc": {"initial_stock": {"A": 20}, "safety_reserve": {"A": 1}},
    "locations": [
        {"name": "s1", "region": "north", "channels": ["store"], "capacity": 100, "lead_time": 1,
         "shipping_cost": 0.5, "initial_stock": {"A": 5}},
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
    clean_exit(result, str(file), *needles)
    assert not (tmp_path / "out").exists()


# ==================================================================== ONNX policies and JSON states
def _card(**changes: Any) -> dict[str, Any]:
    """A consistent card of a one-SKU, one-location scenario (observation blocks of one value each)."""
    layout, start = [], 0
    for name in OBSERVATION_BLOCKS:
        size = 5 if name == "calendar" else 1
        layout.append({"name": name, "shape": [size], "start": start, "stop": start + size})
        start += size
    card = PolicyCard(scenario="corpus", scenario_hash="0" * 16, version="0", algo="ppo", run_id="r",
                      skus=["A"], locations=["s1"], lanes=[], periods=10, forecast_horizon=3, age_buckets=5,
                      obs_clip=10.0, week=7.0, safety_reserve=[0], dc_scale=[1.0], location_scale=[[1.0]],
                      max_order=[0], observation_layout=layout,
                      action_layout={"allocation": [0, 2], "transfers": [2, 2], "orders": [2, 2]})
    return {**asdict(card), **changes}


def _onnx(path: Path, card_text: str | None, width: int = 15) -> Path:
    """A graph with the runtime's outputs (Identity of the input) and ``card_text`` as its card."""
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info("observation", TensorProto.FLOAT, ["batch", width])]
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in OUTPUTS]
    nodes = [helper.make_node("Identity", ["observation"], [name]) for name in OUTPUTS]
    model = helper.make_model(helper.make_graph(nodes, "corpus", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if card_text is not None:
        model.metadata_props.add(key="allocsim.card", value=card_text)
    path.write_bytes(model.SerializeToString())
    return path


STATE: dict[str, Any] = {
    "period": 2,
    "dc": {"on_hand": {"A": 5}, "on_order": {"A": 1}},
    "locations": {"s1": {"on_hand": {"A": 1}, "forecast": {"A": [1.0, 1.5, 2.0]}, "avg_age": {"A": 1.0}}},
}


@pytest.fixture(scope="module")
def fake_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _onnx(tmp_path_factory.mktemp("onnx") / "policy.onnx", json.dumps(_card()))


def test_the_fake_policy_and_state_are_valid(fake_policy: Path) -> None:
    """The state cases below each break one thing of a state this card accepts."""
    card = PolicyCard.from_metadata({"allocsim.card": json.dumps(_card())})
    assert parse_state(copy.deepcopy(STATE), card).dc_on_hand.tolist() == [5]


CARD_CASES: dict[str, tuple[str | None, list[str]]] = {
    "skus a string": (json.dumps(_card(skus="A")), ["skus", "list[str]", "str"]),
    "periods a string": (json.dumps(_card(periods="10")), ["periods", "int"]),
    "periods a bool": (json.dumps(_card(periods=True)), ["periods", "int", "bool"]),
    "periods a float": (json.dumps(_card(periods=10.5)), ["periods", "int", "float"]),
    "obs_clip not a number": (json.dumps(_card(obs_clip="x")), ["obs_clip", "float"]),
    "obs_clip NaN": (json.dumps(_card(obs_clip=math.nan)), ["obs_clip", "float"]),
    "safety reserve of floats": (json.dumps(_card(safety_reserve=[1.5])), ["safety_reserve", "list[int]"]),
    "location scale of strings": (json.dumps(_card(location_scale=[["x"]])), ["location_scale"]),
    "location scale too short": (json.dumps(_card(location_scale=[])), ["location_scale", "entries"]),
    "dc scale too long": (json.dumps(_card(dc_scale=[1.0, 2.0])), ["dc_scale", "entries"]),
    "lane to an unknown location": (json.dumps(_card(lanes=[["s1", "nowhere"]])), ["lanes"]),
    "action layout a list": (json.dumps(_card(action_layout=[1, 2])), ["action_layout", "dict"]),
    "observation layout of numbers": (json.dumps(_card(observation_layout=[1, 2])), ["observation_layout"]),
    "observation layout without stops": (
        json.dumps(_card(observation_layout=[{"name": n} for n in OBSERVATION_BLOCKS])), ["layout"]),
    "a missing key": (json.dumps({k: v for k, v in _card().items() if k != "skus"}), ["lacks skus"]),
    "not JSON": ("{oops", ["not valid JSON"]),
    "a JSON list": ("[1, 2]", ["JSON object"]),
    "an integer of 5,000 digits": (json.dumps(_card()).replace('"periods": 10', '"periods": ' + "9" * 5000),
                                   ["too large"]),
    "no card": (None, ["not an allocsim policy"]),
}


@pytest.mark.parametrize("case", sorted(CARD_CASES))
def test_onnx_file_with_a_broken_card(tmp_path: Path, case: str) -> None:
    text, needles = CARD_CASES[case]
    model = _onnx(tmp_path / "bad.onnx", text)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(STATE))
    result = runner.invoke(app, ["infer", "--model", str(model), "--state", str(state)])
    clean_exit(result, str(model), *needles)


@pytest.mark.parametrize("data", [b"", b"\x00" * 64, b"PK\x03\x04 a zip"], ids=["empty", "nul", "zip"])
def test_a_file_that_is_not_onnx(tmp_path: Path, data: bytes) -> None:
    model = tmp_path / "bad.onnx"
    model.write_bytes(data)
    result = runner.invoke(app, ["infer", "--model", str(model), "--state", str(model)])
    clean_exit(result, str(model), "not a readable ONNX model")


def _state_with(path: list[Any], value: Any) -> dict[str, Any]:
    state = copy.deepcopy(STATE)
    node: Any = state
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return state


STATE_CASES: dict[str, tuple[Callable[[], str | bytes], list[str]]] = {
    "integer of 5,000 digits": (lambda: json.dumps(STATE).replace('"on_hand": {"A": 5}',
                                                                  '"on_hand": {"A": ' + "9" * 5000 + "}"),
                                ["5,000 digits"]),
    "nested 50,000 deep": (lambda: "[" * 50_000 + "]" * 50_000, ["nested too deeply"]),
    "nested 100,000 deep": (lambda: '{"a":' * 100_000 + "1" + "}" * 100_000, ["nested too deeply"]),
    "NaN": (lambda: json.dumps(_state_with(["dc", "on_hand", "A"], math.nan)), ["dc.on_hand.A", "nan"]),
    "Infinity": (lambda: json.dumps(_state_with(["dc", "on_order", "A"], math.inf)),
                 ["dc.on_order.A", "inf"]),
    "1e400": (lambda: json.dumps(STATE).replace('"on_order": {"A": 1}', '"on_order": {"A": 1e400}'),
              ["dc.on_order.A", "inf"]),
    "above 1e12 units": (lambda: json.dumps(_state_with(["dc", "on_hand", "A"], 10**13)),
                         ["dc.on_hand.A", "up to 1e12", str(10**13)]),
    "stock near 2**62": (lambda: json.dumps(_state_with(["dc", "on_hand", "A"], 2**62)),
                         ["dc.on_hand.A", str(2**62)]),
    "negative stock": (lambda: json.dumps(_state_with(["locations", "s1", "on_hand", "A"], -3)),
                       ["locations.s1.on_hand.A", "-3"]),
    "fractional stock": (lambda: json.dumps(_state_with(["locations", "s1", "on_hand", "A"], 1.5)),
                         ["locations.s1.on_hand.A", "1.5"]),
    "bool stock": (lambda: json.dumps(_state_with(["dc", "on_hand", "A"], True)), ["dc.on_hand.A", "True"]),
    "string stock": (lambda: json.dumps(_state_with(["dc", "on_hand", "A"], "five")),
                     ["dc.on_hand.A", "'five'"]),
    "1 MB string": (lambda: json.dumps(_state_with(["dc", "on_hand", "A"], "x" * 1_000_000)),
                    ["dc.on_hand.A", "characters)"]),
    "forecast too short": (lambda: json.dumps(_state_with(["locations", "s1", "forecast", "A"], [1.0])),
                           ["locations.s1.forecast.A", "1 values"]),
    "forecast a number": (lambda: json.dumps(_state_with(["locations", "s1", "forecast", "A"], 3)),
                          ["locations.s1.forecast.A", "int"]),
    "period beyond the horizon": (lambda: json.dumps(_state_with(["period"], 10)), ["period", "0..9", "10"]),
    "period negative": (lambda: json.dumps(_state_with(["period"], -1)), ["period", "-1"]),
    "period fractional": (lambda: json.dumps(_state_with(["period"], 1.5)), ["period", "1.5"]),
    "period of 25 digits": (lambda: json.dumps(_state_with(["period"], 10**24)), ["digits"]),
    "unknown SKU": (lambda: json.dumps(_state_with(["dc", "on_hand", "B"], 1)),
                    ["dc.on_hand.B:", "unknown SKU"]),
    "unknown 10 KB key": (lambda: json.dumps({**STATE, "k" * 10_000: 1}), ["unknown field", "characters)"]),
    "unknown location": (lambda: json.dumps(_state_with(["locations", "mall"], {})),
                         ["unknown location", "mall"]),
    "missing period": (lambda: json.dumps({k: v for k, v in STATE.items() if k != "period"}),
                       ["period", "missing"]),
    "dc a list": (lambda: json.dumps(_state_with(["dc"], [])), ["dc", "object", "list"]),
    "a list": (lambda: "[1, 2]", ["state", "object"]),
    "empty file": (lambda: "", ["not valid JSON"]),
    "not JSON": (lambda: "{period: 1}", ["not valid JSON", "line 1"]),
    "utf-16": (lambda: json.dumps(STATE).encode("utf-16"), ["not UTF-8"]),
    "latin-1": (lambda: json.dumps({**STATE, "café": 1}, ensure_ascii=False).encode("latin-1"),
                ["not UTF-8"]),
    "binary": (lambda: bytes(range(256)), ["not UTF-8"]),
}


@pytest.mark.parametrize("case", sorted(STATE_CASES))
def test_broken_json_state(fake_policy: Path, tmp_path: Path, case: str) -> None:
    make, needles = STATE_CASES[case]
    content = make()
    state = tmp_path / "state.json"
    if isinstance(content, bytes):
        state.write_bytes(content)
    else:
        state.write_text(content)
    result = runner.invoke(app, ["infer", "--model", str(fake_policy), "--state", str(state)])
    clean_exit(result, str(state), *needles)


def test_whole_units_at_the_bound_never_exceed_the_stock() -> None:
    """At 1e12 units over 1,001 destinations (the schema's bounds), the split hands out exactly the total."""
    rng = np.random.default_rng(7)
    for total in (MAX_NETWORK_UNITS, MAX_NETWORK_UNITS - 1, 2**39 + 12345):
        weights = rng.random((20, 1001)) ** 3
        fractions = (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32).astype(np.float64)
        fractions /= fractions.sum(axis=1, keepdims=True)
        units = largest_remainder(np.full(20, total, dtype=np.int64), fractions)
        assert (units >= 0).all()
        assert (units.sum(axis=1) == total).all()


# ==================================================================== sweep configs
SWEEP_BASE: dict[str, Any] = {"scenarios": ["tiny-dp"], "policies": ["proportional"],
                              "seeds": {"start": 40000, "count": 2}}
SWEEP_CASES: dict[str, tuple[Callable[[], Any], list[str]]] = {
    "seed start 1e26": (lambda: {**SWEEP_BASE, "seeds": {"start": 1e26, "count": 2}},
                        ["seeds.start", "1e+26"]),
    "seed start of 30 digits": (lambda: {**SWEEP_BASE, "seeds": {"start": 10**30, "count": 2}},
                                ["seeds.start", str(10**30)]),
    "seed start negative": (lambda: {**SWEEP_BASE, "seeds": {"start": -1, "count": 2}},
                            ["seeds.start", "-1"]),
    "seed start a bool": (lambda: {**SWEEP_BASE, "seeds": {"start": True, "count": 2}},
                          ["seeds.start", "True"]),
    "seed count 0": (lambda: {**SWEEP_BASE, "seeds": {"start": 0, "count": 0}}, ["seeds.count", "0"]),
    "seed count 1e7": (lambda: {**SWEEP_BASE, "seeds": {"start": 0, "count": 10**7}},
                       ["seeds.count", "10000000"]),
    "seed count a float": (lambda: {**SWEEP_BASE, "seeds": {"start": 0, "count": 2.5}},
                           ["seeds.count", "2.5"]),
    "seed list empty": (lambda: {**SWEEP_BASE, "seeds": []}, ["seeds", "at least one"]),
    "seed list with a float": (lambda: {**SWEEP_BASE, "seeds": [1, 2.5]}, ["seeds.1", "2.5"]),
    "seed list with a huge seed": (lambda: {**SWEEP_BASE, "seeds": [1, 2**40]}, ["seeds.1", str(2**40)]),
    "seed list with repeats": (lambda: {**SWEEP_BASE, "seeds": [1, 1]}, ["seeds", "distinct"]),
    "warm_up 1e9": (lambda: {**SWEEP_BASE, "warm_up": 10**9}, ["warm_up", "1000000000"]),
    "warm_up a bool": (lambda: {**SWEEP_BASE, "warm_up": True}, ["warm_up", "True"]),
    "no scenarios": (lambda: {**SWEEP_BASE, "scenarios": []}, ["scenarios"]),
    "unknown scenario": (lambda: {**SWEEP_BASE, "scenarios": ["nowhere"]}, ["scenarios.0", "nowhere'"]),
    "unknown policy": (lambda: {**SWEEP_BASE, "policies": ["nope"]}, ["policies.0", "'nope'"]),
    "2 MB value under an unknown key": (lambda: {**SWEEP_BASE, "colour": "x" * 2_000_000},
                                         ["colour", "characters)"]),
    "train timesteps 0": (lambda: {**SWEEP_BASE, "policies": [{"kind": "train", "timesteps": 0}]},
                          ["policies.0", "timesteps", "0"]),
    "train seed 1e30": (lambda: {**SWEEP_BASE, "policies": [{"kind": "train", "timesteps": 10,
                                                              "train_seed": 10**30}]},
                        ["policies.0", "train_seed", str(10**30)]),
    "tuned parameters missing from the relative tuned_dir": (
        lambda: {**SWEEP_BASE, "policies": [{"name": "base-stock", "params": "tuned"}],
                 "tuned_dir": "my-tuned"},
        ["my-tuned/tiny-dp/base-stock.json missing"]),
    "not a mapping": (lambda: [1, 2], ["mapping", "list"]),
    "rule parameter 1e300": (lambda: {**SWEEP_BASE, "policies": [{"name": "min-max",
                                                                  "params": {"min_days": 1e300}}]},
                             ["policies.0", "min_days", "1e+300"]),
    "rule parameter NaN": (lambda: {**SWEEP_BASE, "policies": [{"name": "min-max",
                                                                "params": {"max_days": math.nan}}]},
                           ["policies.0", "max_days", "nan"]),
}


@pytest.mark.parametrize("case", sorted(SWEEP_CASES))
def test_broken_sweep_config(tmp_path: Path, case: str) -> None:
    make, needles = SWEEP_CASES[case]
    config = tmp_path / "sweep.yaml"
    config.write_text(dump(make()))
    result = runner.invoke(app, ["sweep", str(config), "--out", str(tmp_path / "out")])
    text = clean_exit(result, str(config), *needles)
    if "tuned_dir" in make():
        assert str(tmp_path / "my-tuned") in text  # relative to the sweep file, not the working folder


@pytest.mark.parametrize(("data", "needle"), [(b"\xff\xfe\x00\x01", "not UTF-8"),
                                               ("seeds: [1]\n".encode("utf-16"), "not UTF-8"),
                                               (b"scenarios: [\n", "line 2")])
def test_unreadable_sweep_file(tmp_path: Path, data: bytes, needle: str) -> None:
    config = tmp_path / "sweep.yaml"
    config.write_bytes(data)
    clean_exit(runner.invoke(app, ["sweep", str(config)]), str(config), needle)


def test_a_relative_tuned_dir_is_read_from_the_sweep_files_folder(tmp_path: Path, monkeypatch: Any) -> None:
    folder = tmp_path / "configs"
    tuned = folder / "my-tuned" / "tiny-dp"
    tuned.mkdir(parents=True)
    (tuned / "base-stock.json").write_text(json.dumps({"params": {"safety_factor": 0.5}}))
    config = folder / "sweep.yaml"
    config.write_text(dump({**SWEEP_BASE, "policies": [{"name": "base-stock", "params": "tuned"}],
                                      "tuned_dir": "my-tuned"}))
    monkeypatch.chdir(tmp_path)  # the working folder has no my-tuned/
    cells = expand(load_config(config), config)
    assert {c["policy"]["label"] for c in cells} == {"base-stock-tuned"}
    assert all(c["policy"]["params"] == {"safety_factor": 0.5} for c in cells)


TUNED_FILES: dict[str, bytes] = {
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "an integer of 5,000 digits": b'{"params": {"max_days": ' + b"9" * 5000 + b"}}",
    "latin-1": '{"params": {"café": 1}}'.encode("latin-1"),
    "not an object": b"[1, 2]",
    "a parameter of 1e300": b'{"params": {"max_days": 1e300}}',
}


@pytest.mark.parametrize("case", sorted(TUNED_FILES))
def test_broken_tuned_parameters_file(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "tuned" / "tiny-dp"
    folder.mkdir(parents=True)
    (folder / "min-max.json").write_bytes(TUNED_FILES[case])
    result = runner.invoke(app, ["benchmark", "--scenario", "tiny-dp", "--policies", "min-max",
                                 "--episodes", "1", "--tuned-dir", str(tmp_path / "tuned"),
                                 "--out", str(tmp_path / "out")])
    clean_exit(result, "min-max")
    assert not (tmp_path / "out").exists()


HYPERPARAM_FILES: dict[str, tuple[bytes, list[str]]] = {
    "latin-1": ("default:\n  policy: café\n".encode("latin-1"), ["not UTF-8"]),
    "binary": (bytes(range(256)), ["not UTF-8"]),
    "n_steps 1e12": (b"default:\n  n_steps: 1e12\n", ["n_steps", "1000000"]),
    "n_timesteps of 23 digits": (b"default:\n  n_timesteps: 99999999999999999999999\n",
                                 ["n_timesteps", "10000000000"]),
    "learning rate NaN": (b"default:\n  learning_rate: .nan\n", ["learning_rate", "finite"]),
    "buffer of 1e12": (b"default:\n  buffer_size: 1000000000000\n", ["buffer_size"]),
}


@pytest.mark.parametrize("case", sorted(HYPERPARAM_FILES))
def test_broken_hyperparameter_file(tmp_path: Path, case: str) -> None:
    data, needles = HYPERPARAM_FILES[case]
    file = tmp_path / "hp.yaml"
    file.write_bytes(data)
    result = runner.invoke(app, ["train", "--scenario", "tiny-dp", "--hyperparams", str(file),
                                 "--out", str(tmp_path / "run")])
    clean_exit(result, "hp.yaml", *needles)
    assert not (tmp_path / "run").exists()


# ==================================================================== option values
OPTION_CASES: list[tuple[list[str], list[str]]] = [
    (["simulate", "--episodes", "0"], ["--episodes", "1..1000000", "'0'"]),
    (["simulate", "--episodes", "99999999999999999999999"], ["--episodes", "99999999999999999999999"]),
    (["simulate", "--episodes", "-3"], ["--episodes", "'-3'"]),
    (["simulate", "--episodes", "2.5"], ["--episodes", "'2.5'"]),
    (["simulate", "--seed", "abc"], ["--seed", "0..4294967295", "'abc'"]),
    (["simulate", "--seed", "-1"], ["--seed", "'-1'"]),
    (["simulate", "--seed", "4294967296"], ["--seed", "'4294967296'"]),
    (["simulate", "--seed", "x" * 100_000], ["--seed", "characters)"]),
    (["simulate", "--epsiodes", "3"], ["--epsiodes", "--episodes"]),
    (["simulate", "--json=3"], ["--json"]),
    (["simulate", "stray"], ["stray"]),
    (["tune"], ["--policy"]),
    (["tune", "--policy", "min-max", "--episodes", "0"], ["--episodes", "'0'"]),
    (["tune", "--policy", "min-max", "--workers", "0"], ["--workers", "1..1024", "'0'"]),
    (["benchmark", "--workers", "0"], ["--workers", "'0'"]),
    (["benchmark", "--workers", "100000"], ["--workers", "'100000'"]),
    (["benchmark", "--warm-up", "-1"], ["--warm-up", "0..3650", "'-1'"]),
    (["benchmark", "--warm-up", "99999"], ["--warm-up", "'99999'"]),
    (["benchmark", "--episodes", "1e3"], ["--episodes", "'1e3'"]),
    (["benchmark", "--seed", "1e26"], ["--seed", "'1e26'"]),
    (["benchmark", "--polices", "x"], ["--polices"]),
    (["bound", "--episodes", "0"], ["--episodes", "'0'"]),
    (["bound", "--workers", "0"], ["--workers", "'0'"]),
    (["sweep", "c.yaml", "--workers", "0"], ["--workers", "'0'"]),
    (["sweep"], ["config"]),
    (["train", "--timesteps", "0"], ["--timesteps", "1..10000000000", "'0'"]),
    (["train", "--timesteps", "99999999999999999999999"], ["--timesteps", "99999999999999999999999"]),
    (["train", "--n-envs", "0"], ["--n-envs", "'0'"]),
    (["train", "--eval-every", "0"], ["--eval-every", "'0'"]),
    (["train", "--eval-episodes", "0"], ["--eval-episodes", "'0'"]),
    (["train", "--seed", "nan"], ["--seed", "'nan'"]),
    (["train", "--timestep", "5"], ["--timestep"]),
    (["evaluate", "--model", "m", "--episodes", "0"], ["--episodes", "'0'"]),
    (["evaluate", "--model", "m", "--workers", "0"], ["--workers", "'0'"]),
    (["evaluate"], ["--model"]),
    (["results", "--workers", "0"], ["--workers", "'0'"]),
    (["state", "--period", "99999"], ["--period", "0..3650", "'99999'"]),
    (["state", "--seed", "-5"], ["--seed", "'-5'"]),
    (["infer", "--model", "m.onnx"], ["--state"]),
    (["export"], ["--model"]),
    (["no-such-command"], ["no-such-command"]),
]


@pytest.mark.parametrize(("args", "needles"), OPTION_CASES, ids=[" ".join(a)[:60] for a, _ in OPTION_CASES])
def test_bad_option_is_one_line_naming_it(args: list[str], needles: list[str]) -> None:
    text = clean_exit(runner.invoke(app, args), *needles)
    assert len(text.strip().splitlines()) == 1 and text.startswith("error: ")


def test_help_is_unchanged() -> None:
    result = runner.invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0 and "--episodes" in result.stdout and "Usage" in result.stdout


# ==================================================================== through a real process
@pytest.mark.parametrize(
    ("args", "needle"),
    [(["benchmark", "--seed", "abc"], "--seed"), (["simulate", "--scenario", "BAD_YAML"], "not UTF-8")],
)
def test_console_entry_gives_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes("name: café\n".encode("latin-1"))
    args = [str(bad) if a == "BAD_YAML" else a for a in args]
    done = subprocess.run([sys.executable, "-m", "allocsim.experiments.cli", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
