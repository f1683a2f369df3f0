"""benchmark says that it writes the report before the seconds of plotting, so the end never looks hung."""

from __future__ import annotations

from pathlib import Path

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
