"""A learned policy with a holdback block joins the benchmark of its holdback-decision scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from allocsim.agents.export import export_run
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.benchmark import run_benchmark
from allocsim.experiments.evaluation import PolicySpec


@pytest.mark.slow
def test_a_holdback_deciding_policy_is_ranked_but_left_out_of_the_no_holdback_twin(
    tmp_path: Path, tiny_trainer: Any
) -> None:
    """Its action carries the holdback block, so it has no env without holdbacks: it is ranked with
    the rules, and the 'what holdbacks are worth' comparison covers the rules alone."""
    scenario = load_scenario("strategic-holdback-decision")
    onnx = export_run(tiny_trainer(tmp_path, scenario.name), tmp_path / "policy.onnx")
    model = PolicySpec("learned", label="ppo-tiny", model=str(onnx))
    result = run_benchmark(scenario, [40000, 40001], policies=["priority", "hold"], bound=False,
                           tuned_dir=None, models=[model])
    assert "ppo-tiny" in set(result.summary["policy"]) and len(result.rows) == 6
    assert set(result.holdback["policy"]) == {"priority", "hold"}


@pytest.mark.slow
def test_the_progress_bar_counts_the_episodes_the_benchmark_plays(
    tmp_path: Path, tiny_trainer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The learned policy sits out the no-holdback pass, and the bar's total leaves it out too."""
    from contextlib import contextmanager

    from typer.testing import CliRunner

    from allocsim.experiments import cli

    counted = {"total": 0, "done": 0}

    @contextmanager
    def recording(total: int, what: str, **_: Any) -> Any:
        counted["total"] = total
        yield lambda n: counted.__setitem__("done", counted["done"] + n)

    monkeypatch.setattr(cli, "_progress", recording)
    onnx = export_run(tiny_trainer(tmp_path, "strategic-holdback-decision"), tmp_path / "policy.onnx")
    result = CliRunner().invoke(cli.app, [
        "benchmark", "--scenario", "strategic-holdback-decision", "--policies", "priority,hold",
        "--model", str(onnx), "--episodes", "2", "--no-bound", "--workers", "1",
        "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    # 3 policies x 2 episodes + the 2 rules x 2 episodes without holdbacks + the traced episodes
    assert counted["done"] == counted["total"] and counted["total"] >= 3 * 2 + 2 * 2
