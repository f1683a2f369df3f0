"""A sweep says, in one line, which onnx/model entries it left out on which scenarios, and why."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from allocsim.experiments.cli import app
from allocsim.experiments.sweep import expand, skipped_line
from allocsim.experiments.sweep_config import parse_config

runner = CliRunner()
LINE = "sweep: left out policies.1 (onnx pretrained) on tiny-dp (no policy ships for it)"


def _config(tmp_path: Path) -> Path:
    data = {"scenarios": ["retail-small", "tiny-dp"],
            "policies": ["proportional", {"kind": "onnx", "path": "pretrained"}], "seeds": [40000]}
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_expand_names_the_entry_the_scenario_and_why(tmp_path: Path) -> None:
    path = _config(tmp_path)
    said: list[str] = []
    cells = expand(parse_config(yaml.safe_load(path.read_text()), str(path)), path, on_skip=said.append)
    assert said == [LINE]
    assert sorted((c["scenario"], c["policy"]["kind"]) for c in cells) == [
        ("retail-small", "onnx"), ("retail-small", "rule"), ("tiny-dp", "rule")]


def test_an_exported_file_of_another_scenario_is_said_by_its_label(tmp_path: Path) -> None:
    config = parse_config({"scenarios": ["tiny-dp", "small-dp", "retail-small"],
                           "policies": [{"kind": "onnx", "path": "p.onnx", "label": "mine"},
                                        {"kind": "model", "path": "runs/x"}], "seeds": [1]}, "s.yaml")
    assert skipped_line(config, {0: ["tiny-dp", "small-dp"], 1: ["retail-small"]}) == (
        "sweep: left out policies.0 (mine) on tiny-dp, small-dp (made for another scenario); "
        "policies.1 (model runs/x) on retail-small (made for another scenario)")


def test_the_sweep_command_says_it_once_on_stderr(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sweep", str(_config(tmp_path)), "--out", str(tmp_path / "out"),
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines().count(LINE) == 1, result.stderr
