"""A learned policy played on another scenario than its own: the one-line refusal says where it was
trained (it said only "action ranges have 10 entries, this scenario's residual action has 4")."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from typer.testing import CliRunner

from allocsim.envs.scenario import load_scenario
from allocsim.experiments.cli import app
from allocsim.experiments.evaluation import PolicySpec, _trained_elsewhere

runner = CliRunner()


def test_the_shipped_policy_on_tiny_dp_names_retail_small(tmp_path: Path) -> None:
    result = runner.invoke(app, ["benchmark", "--model", "pretrained:dcl", "--scenario", "tiny-dp",
                                 "--episodes", "1", "--workers", "1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: policy 'pretrained:dcl' (trained on retail-small, not tiny-dp): ")


def test_nothing_is_added_for_a_rule_or_its_own_scenario() -> None:
    small = load_scenario("retail-small")
    assert _trained_elsewhere(PolicySpec("base-stock"), small) == ""
    assert _trained_elsewhere(PolicySpec("x", model="no/such/run"), small) == ""  # its own refusal says why
    shipped = str(resources.files("allocsim.agents") / "pretrained" / "retail-small.onnx")
    assert _trained_elsewhere(PolicySpec("x", model=shipped), small) == ""
    assert _trained_elsewhere(PolicySpec("x", model=shipped), load_scenario("tiny-dp")) == (
        " (trained on retail-small, not tiny-dp)")
