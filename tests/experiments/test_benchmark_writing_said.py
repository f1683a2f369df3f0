"""benchmark says that it writes the report before the seconds of plotting, so the end never looks hung."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocsim.experiments.cli import app

runner = CliRunner()


def test_writing_the_report_is_said_before_the_table(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["benchmark", "--scenario", "retail-small", "--episodes", "1", "--policies", "hold",
            "--no-bound", "--workers", "1", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("writing the report")]
    assert said == [f"writing the report, plots and CSVs into {out}"]
    assert (out / "report.html").is_file()


def test_it_is_said_before_the_figures_are_drawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The figures are drawn inside run_benchmark, after the bar's last count (6.7 s at 270/270 in the
    README walk under load): the line comes before them."""
    from allocsim.envs.scenario import load_scenario
    from allocsim.experiments import benchmark

    calls: list[str] = []
    monkeypatch.setattr(benchmark, "figures", lambda *args: calls.append("figures") or {})
    benchmark.run_benchmark(load_scenario("tiny-dp"), [40000], policies=["hold"], bound=False,
                            tuned_dir=tmp_path / "none", before_figures=lambda: calls.append("said"))
    assert calls == ["said", "figures"]
