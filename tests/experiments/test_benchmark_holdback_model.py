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
