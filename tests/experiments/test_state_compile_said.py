"""`state` and `infer --scenario` announce a first-run compile on stderr instead of minutes of silence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.agents.pretrained import shipped_label
from allocsim.experiments import waits
from allocsim.experiments.cli import app

runner = CliRunner()


@pytest.fixture
def empty_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel cache looks empty (the warm-up itself is skipped: the kernels are loaded already)."""
    monkeypatch.setattr(waits, "kernels_compiled", lambda: False)
    monkeypatch.setattr(waits, "_warm", lambda scenario: None)


def test_state_says_it_compiles_and_keeps_stdout_json(empty_cache: None) -> None:
    result = runner.invoke(app, ["state", "--scenario", "tiny-dp", "--period", "2"])
    assert result.exit_code == 0, result.output
    assert waits.COMPILE_NOTE in result.stderr
    assert json.loads(result.stdout)["period"] == 2


def test_infer_with_a_scenario_says_it_compiles(empty_cache: None, tmp_path: Path) -> None:
    state = runner.invoke(app, ["state", "--scenario", "retail-small", "--period", "3"])
    path = tmp_path / "state.json"
    path.write_text(state.stdout)
    name = shipped_label("retail-small")  # pretrained:<algo> of the file that ships
    assert name is not None
    result = runner.invoke(app, ["infer", "--model", name, "--state", str(path),
                                 "--scenario", "retail-small"])
    assert result.exit_code == 0, result.output
    assert waits.COMPILE_NOTE in result.stderr
    assert "allocation" in json.loads(result.stdout)
