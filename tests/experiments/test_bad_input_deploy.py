"""Bad-input corpus, part 2: ONNX policy files with broken cards and malformed JSON states through
``allocsim infer`` (a fake policy with a consistent card: nothing is trained or compiled).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from corpus_kit import clean_exit, runner

from allocsim.agents.inference import OUTPUTS
from allocsim.agents.policy_card import OBSERVATION_BLOCKS, PolicyCard
from allocsim.agents.state_input import parse_state
from allocsim.core.limits import MAX_NETWORK_UNITS
from allocsim.envs.engine.decide import largest_remainder_row  # compiled: 1,001 destinations
from allocsim.experiments.cli import app


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
        units = np.zeros(fractions.shape, dtype=np.int64)
        order = np.zeros(fractions.shape[1], dtype=np.int64)
        for row, split in zip(fractions, units, strict=True):
            largest_remainder_row(total, row, split, order)
        assert (units >= 0).all()
        assert (units.sum(axis=1) == total).all()
