"""``allocsim export``, ``infer``, ``state``: a decision from a JSON state; bad input exits 2, one line."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from allocsim.agents.guarded_decision import decide_in_world, to_unit_decision
from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.state_input import parse_state
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    result = runner.invoke(app, ["state", "--scenario", "retail-small", "--seed", "40000", "--period", "7"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _infer(model: Path, data: Any, tmp_path: Path, *extra: str) -> Any:
    path = tmp_path / "state.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return runner.invoke(app, ["infer", "--model", str(model), "--state", str(path), *extra])


def test_infer_prints_whole_units_that_split_the_available_stock(
    retail_small_onnx: Path, state: dict[str, Any], tmp_path: Path
) -> None:
    for extra in ((), ("--scenario", "retail-small")):
        result = _infer(retail_small_onnx, state, tmp_path, *extra)
        assert result.exit_code == 0, result.output
        decision = json.loads(result.stdout)
        assert decision["period"] == 7
        for sku, on_hand in state["dc"]["on_hand"].items():  # retail-small keeps no safety reserve
            shipped = sum(units[sku] for units in decision["allocation"].values())
            assert shipped + decision["keep_at_dc"][sku] == on_hand
            units = [per_sku[sku] for per_sku in decision["allocation"].values()]
            assert all(isinstance(u, int) and u >= 0 for u in units)
        if not extra:  # the torch- and simulator-free runtime: units before the guardrails
            assert decision == OnnxPolicy.load(retail_small_onnx).decide(state)
        else:  # with the scenario: the env's guardrails and DC rule applied
            assert decision.pop("guardrails_applied") is True
            policy = OnnxPolicy.load(retail_small_onnx)
            parsed = parse_state(state, policy.card)
            world = decide_in_world(policy, parsed, load_scenario("retail-small"))
            assert decision == to_unit_decision(world, parsed, policy).to_json(policy.card)


def _drop(path: list[str]) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        node = s
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


def _set(path: list[str], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        node = s
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


BAD_STATES = {
    "missing field": (_drop(["dc", "on_hand"]), "dc.on_hand: missing field"),
    "missing location": (_drop(["locations", "store-north"]), "locations.store-north: missing location"),
    "unknown SKU": (
        _set(["dc", "on_hand", "socks"], 3), "dc.on_hand.socks: unknown SKU; valid: jacket, scarf"
    ),
    "unknown location": (
        _set(["locations", "store-east"], {}), "locations.store-east: unknown location; valid: store-north"
    ),
    "negative stock": (
        _set(["locations", "store-south", "on_hand", "jacket"], -3),
        "locations.store-south.on_hand.jacket: must be a whole number >= 0 (got -3)",
    ),
    "fractional stock": (
        _set(["dc", "on_hand", "scarf"], 2.5), "dc.on_hand.scarf: must be a whole number >= 0 (got 2.5)"
    ),
    "wrong forecast shape": (
        _set(["locations", "store-north", "forecast", "jacket"], [1.0, 2.0]),
        "locations.store-north.forecast.jacket: must be a list of 7 forecast values (got 2 values)",
    ),
    "period beyond the horizon": (_set(["period"], 60), "period: must be a whole number in 0..59 (got 60)"),
    "not a number": (
        _set(["dc", "on_order", "jacket"], "ten"), "dc.on_order.jacket: must be a finite number"
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_STATES))
def test_bad_state_exits_2_with_one_line_naming_the_problem(
    retail_small_onnx: Path, state: dict[str, Any], tmp_path: Path, case: str
) -> None:
    edit, message = BAD_STATES[case]
    bad = copy.deepcopy(state)
    edit(bad)
    result = _infer(retail_small_onnx, bad, tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert "Traceback" not in result.output


def test_decide_takes_the_scenario_by_name_as_infer_does(
    retail_small_onnx: Path, state: dict[str, Any]
) -> None:
    """docs/deployment.md's ``policy.decide(state_dict, scenario)``: a preset name (or YAML path)
    gives the same guarded units as the loaded Scenario; another scenario is refused."""
    policy = OnnxPolicy.load(retail_small_onnx)
    by_name = policy.decide(state, "retail-small")
    assert by_name == policy.decide(state, load_scenario("retail-small")) and by_name["guardrails_applied"]
    with pytest.raises(ValueError, match="exported for scenario 'retail-small'"):
        policy.decide(state, "tiny-dp")


def test_infer_refuses_a_model_exported_for_another_scenario(
    retail_small_onnx: Path, state: dict[str, Any], tmp_path: Path
) -> None:
    result = _infer(retail_small_onnx, state, tmp_path, "--scenario", "tiny-dp")
    assert result.exit_code == 2
    assert "exported for scenario 'retail-small'" in result.stderr and "tiny-dp has hash" in result.stderr


def test_infer_with_a_scenario_refuses_more_units_than_the_scenario_can_hold(
    retail_small_onnx: Path, state: dict[str, Any], tmp_path: Path
) -> None:
    """retail-small's engine keeps 32-bit unit cells (no cell of it can pass 2**31 - 1 units); a JSON
    state beyond that, valid for the runtime alone (up to 1e12), is refused in one line with the scenario."""
    big = copy.deepcopy(state)
    sku = next(iter(big["dc"]["on_hand"]))
    big["dc"]["on_hand"][sku] = 3 * 10**9
    assert _infer(retail_small_onnx, big, tmp_path).exit_code == 0
    result = _infer(retail_small_onnx, big, tmp_path, "--scenario", "retail-small")
    assert result.exit_code == 2, result.output
    last = result.stderr.strip().splitlines()[-1]  # (a first run on an empty cache announces a compile)
    assert "dc_on_hand: 3,000,000,000 units in one place is more than scenario 'retail-small'" in last
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ("[1, 2]", "state: must be an object, got list")],
)
def test_malformed_json_exits_2(retail_small_onnx: Path, tmp_path: Path, content: str, message: str) -> None:
    result = _infer(retail_small_onnx, content, tmp_path)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_non_utf8_and_huge_numbers_exit_2(
    retail_small_onnx: Path, state: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(json.dumps(state).encode("utf-16"))
    result = runner.invoke(app, ["infer", "--model", str(retail_small_onnx), "--state", str(path)])
    assert result.exit_code == 2 and "not UTF-8" in result.stderr
    huge = copy.deepcopy(state)
    huge["dc"]["on_hand"]["jacket"] = 10**13
    result = _infer(retail_small_onnx, huge, tmp_path)
    assert result.exit_code == 2 and "dc.on_hand.jacket: must be a finite number up to 1e12" in result.stderr


def test_infer_takes_onnx_only_and_never_unpickles(tmp_path: Path) -> None:
    pickle_file = tmp_path / "model.zip"
    pickle_file.write_bytes(b"PK\x03\x04 not for infer")
    result = runner.invoke(app, ["infer", "--model", str(pickle_file), "--state", str(pickle_file)])
    assert result.exit_code == 2 and "exported .onnx policy" in result.stderr
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"\x00\x01garbage")
    result = runner.invoke(app, ["infer", "--model", str(fake), "--state", str(pickle_file)])
    assert result.exit_code == 2 and "not a readable ONNX model" in result.stderr


def test_export_of_a_folder_that_is_no_run_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "--model", str(tmp_path), "--out", str(tmp_path / "p.onnx")])
    assert result.exit_code == 2 and "is not a training run" in result.stderr
    missing = tmp_path / "no-such-run"
    result = runner.invoke(app, ["export", "--model", str(missing), "--out", str(tmp_path / "p.onnx")])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {missing}: no such file or folder"


def test_evaluate_takes_an_onnx_file(retail_small_onnx: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--model", str(retail_small_onnx), "--episodes", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scenario"] == "retail-small"
    assert data["policy"] == f"onnx:{retail_small_onnx.parent.name}"
    assert [e["seed"] for e in data["episodes"]] == [40000, 40001]


@pytest.mark.slow
def test_infer_without_a_scenario_never_compiles(
    retail_small_onnx: Path, state: dict[str, Any], tmp_path: Path
) -> None:
    """The torch- and simulator-free path runs on an empty numba cache and leaves it empty."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    cache = tmp_path / "numba-cache"
    done = subprocess.run(
        [sys.executable, "-m", "allocsim.experiments.cli", "infer", "--model", str(retail_small_onnx),
         "--state", str(path)],
        env={**os.environ, "NUMBA_CACHE_DIR": str(cache)}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["period"] == 7
    assert not cache.exists() or not any(cache.rglob("*.nbi"))


HEAVY = ("pandas", "matplotlib", "scipy", "gymnasium", "torch", "stable_baselines3", "simpy", "numba")


def test_infer_without_a_scenario_imports_no_heavy_module(
    retail_small_onnx: Path, state: dict[str, Any], tmp_path: Path
) -> None:
    """The CLI loads pandas, matplotlib, SciPy, Gymnasium (and the learning stack) only in the commands
    that need them, so ``allocsim infer`` starts fast."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    script = (
        "import json, sys\n"
        "from allocsim.experiments.cli import app\n"
        "try:\n"
        f"    app(['infer', '--model', {str(retail_small_onnx)!r}, '--state', {str(path)!r}])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
