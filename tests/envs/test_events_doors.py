"""The doors into events mode: ``gym.make``, ``gym.make_vec`` (native refuses, sync works) and the
``--timing`` option of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import SyncVectorEnv

from allocsim.envs import ENV_ID
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import ScenarioError
from allocsim.envs.vector_env import EVENTS_REFUSED


def test_gym_make_runs_events_mode() -> None:
    env = gym.make(ENV_ID, scenario="retail-medium", timing="events")
    inner = env.unwrapped
    assert isinstance(inner, AllocationEnv) and inner.events is not None
    env.reset(seed=1)
    env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    assert inner.events.desk.orders > 0
    env.close()


def test_native_make_vec_refuses_events_naming_the_fallback() -> None:
    with pytest.raises(ValueError) as caught:
        gym.make_vec(ENV_ID, num_envs=2, scenario="retail-small", timing="events")
    message = str(caught.value)
    assert message == EVENTS_REFUSED and "\n" not in message
    assert 'vectorization_mode="sync"' in message


def test_sync_make_vec_runs_single_envs_in_events_mode() -> None:
    venv = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="sync", scenario="retail-small",
                        timing="events")
    assert isinstance(venv, SyncVectorEnv)
    venv.reset(seed=3)
    _, rewards, *_ = venv.step(np.zeros(venv.action_space.shape, dtype=np.float32))
    assert rewards.shape == (2,)
    assert all(e.unwrapped.events is not None for e in venv.envs)
    venv.close()


def test_bad_timing_argument_is_one_line() -> None:
    with pytest.raises(ScenarioError, match=r"^timing: 'soon' is not one of aggregated, events$"):
        AllocationEnv("retail-small", timing="soon")


def _simulate(*extra: str) -> dict:
    from typer.testing import CliRunner

    from allocsim.experiments.cli import app

    result = CliRunner().invoke(app, ["simulate", "--scenario", "retail-medium", "--policy", "proportional",
                                      "--episodes", "1", "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # status notes (a first compile) go to stderr


def test_cli_timing_overrides_the_scenario() -> None:
    aggregated = _simulate()
    assert _simulate("--timing", "aggregated") == aggregated
    events = _simulate("--timing", "events")
    assert events["summary"]["units_requested"] == aggregated["summary"]["units_requested"]
    assert events["summary"]["profit"] != aggregated["summary"]["profit"]


def test_cli_bad_timing_exits_2_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from allocsim.experiments.cli import app

    result = CliRunner().invoke(app, ["simulate", "--timing", "sideways"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --timing: expected aggregated or events, got 'sideways'"


def test_the_timing_mode_keeps_the_content_hash_but_holdbacks_change_it() -> None:
    from allocsim.envs.scenario import load_scenario

    aggregated = load_scenario("strategic-holdback")
    assert load_scenario("strategic-holdback", "events").content_hash() == aggregated.content_hash()
    plain = aggregated.model_copy(update={"timing": aggregated.timing.model_copy(update={"holdbacks": []})})
    assert plain.content_hash() != aggregated.content_hash()


def test_benchmark_in_events_mode_reports_the_aggregation_gap(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from allocsim.experiments.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["benchmark", "--scenario", "strategic-holdback", "--timing", "events",
                                      "--episodes", "2", "--policies", "priority,proportional", "--no-bound",
                                      "--no-pretrained", "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # tuned in aggregated mode only: used, and said so
    assert "tuned (packaged), tuned in aggregated mode, run in events (none tuned in events mode" in said
    gap = (out / "aggregation_gap.csv").read_text().splitlines()
    assert gap[0].startswith("policy,kpi,events,aggregated,difference")
    assert len(gap) == 1 + 2 * 5  # two rules x five KPIs
    page = (out / "report.html").read_text()
    assert "<h2>Aggregation gap</h2>" in page and "rank (aggregated)" in page
    # the preset holds stock back for contract customers: the same rules without the holdback
    held = (out / "holdback_value.csv").read_text().splitlines()
    assert held[0].startswith("policy,kpi,with holdbacks,without,difference") and len(held) == 1 + 2 * 5
    assert "<h2>What the holdbacks are worth</h2>" in page and "Δ with holdbacks − without" in page
    assert "events mode" in result.output  # the console title names the mode
    assert json.loads((out / "run.json").read_text())["timing"] == "events"
    assert "timing: events (orders and receipts through the period" in page


def test_sweep_timing_sets_every_scenarios_mode(tmp_path: Path) -> None:
    import yaml

    from allocsim.experiments.sweep import expand
    from allocsim.experiments.sweep_config import parse_config

    config = parse_config({"scenarios": ["tiny-dp", "retail-small"], "policies": ["proportional"],
                           "seeds": {"start": 1, "count": 1}})
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({}))
    modes = {c["scenario"]: c["scenario_spec"]["timing"]["mode"] for c in expand(config, tmp_path / "s.yaml",
                                                                                  "events")}
    assert modes == {"tiny-dp": "events", "retail-small": "events"}
    plain = {c["scenario_spec"]["timing"]["mode"] for c in expand(config, tmp_path / "s.yaml")}
    assert plain == {"aggregated"}


def test_evaluate_takes_timing_for_the_runs_own_scenario() -> None:
    from typer.testing import CliRunner

    from allocsim.experiments.cli import app

    model = Path(__file__).resolve().parents[2] / "agents" / "pretrained" / "retail-small.onnx"
    result = CliRunner().invoke(app, ["evaluate", "--model", str(model), "--episodes", "1",
                                      "--timing", "events", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scenario"] == "retail-small"
    bad = CliRunner().invoke(app, ["evaluate", "--model", str(model), "--timing", "later"])
    assert bad.exit_code == 2
    assert bad.stderr.strip() == "error: --timing: expected aggregated or events, got 'later'"
