"""The console (issue 24, item 9): one label per KPI in every command, money in the scenario's
currency, one decimal count per column, a verdict line, and --workers above the core count said."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from allocsim.experiments import cli
from allocsim.experiments.cli_bench import verdict_line
from allocsim.experiments.kpi_labels import LABELS, console_label
from allocsim.experiments.tables import benchmark_table

runner = CliRunner()


def test_one_console_label_per_kpi() -> None:
    assert console_label("profit", "EUR") == "profit (EUR)"
    assert console_label("fill_rate") == "fill_rate (%)"
    assert console_label("lost_sales_units", "EUR") == "lost_sales_units"
    assert console_label("avg_age") == "avg_age (periods)"
    labels = [console_label(k, "EUR") for k in LABELS]
    assert len(set(labels)) == len(labels)
    assert all(label.split(" (")[0] == k for label, k in zip(labels, LABELS, strict=True))


def _summary() -> pd.DataFrame:
    """Two policies whose intervals need 0 and 2 decimals (half-widths 40 and 0.5)."""
    return pd.DataFrame({
        "rank": [1, 2], "policy": ["base-stock", "balanced"], "pareto": [True, False],
        "reference": ["base-stock", "base-stock"],
        "profit_vs_ref": [0.0, -120.4], "profit_vs_ref_ci95": [0.0, 40.2],
        "profit_mean": [47098.123, 46977.7], "profit_ci95": [263.4, 0.5],
        "fill_rate_mean": [97.123, 95.5], "fill_rate_ci95": [0.04, 12.0],
    })


def _cells(text: str) -> list[str]:
    return re.findall(r"-?[\d,]+(?:\.\d+)?", text)


def test_a_column_has_one_decimal_count_and_money_its_currency() -> None:
    console = Console(width=200, record=True)
    console.print(benchmark_table(_summary(), "t", kpis=("profit", "fill_rate"), currency="EUR"))
    text = console.export_text()
    assert "profit" in text and "(EUR)" in text and "fill_rate" in text and "(%)" in text
    assert "(EUR) vs" in text and "Δ profit" in text
    assert "47,098.12" in text and "46,977.70" in text  # both 2 decimals: the finer interval decides
    assert "97.12" in text and "95.50" in text


def test_the_verdict_line_leads_with_the_recommendation() -> None:
    result = SimpleNamespace(summary=_summary(), rows=[], info=SimpleNamespace(periods=56))
    line = verdict_line(result, "EUR")
    assert line.startswith("verdict: Use base-stock. It earns 120 EUR per episode (15 EUR per week) more")
    assert "\n" not in line


def test_the_verdict_folds_at_spaces_at_80_columns() -> None:
    import io

    from rich.console import Console

    from allocsim.experiments.cli_bench import print_verdict

    result = SimpleNamespace(summary=_summary(), rows=[], info=SimpleNamespace(periods=56))
    out = Console(width=80, file=io.StringIO(), record=True, color_system=None)
    print_verdict(out, result, "EUR")
    lines = out.export_text().splitlines()
    assert len(lines) > 1 and all(len(line.rstrip()) <= 80 for line in lines)
    assert " ".join(lines).split() == verdict_line(result, "EUR").split()  # whole words, in order


def test_workers_above_the_cores_are_capped_with_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli.os, "cpu_count", lambda: 2)
    assert cli._workers(16) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--workers 16 is more than the 2 CPU core(s) here; using 2" in err
    assert cli._workers(2) == 2 and cli._workers(None) == 2 and cli._workers(None, 1) == 1
    assert capsys.readouterr().err == ""


def test_simulate_shows_the_console_labels_with_the_currency() -> None:
    result = runner.invoke(cli.app, ["simulate", "--scenario", "tiny-dp", "--episodes", "1"],
                           env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    currency = cli._load("tiny-dp").currency
    assert f"profit ({currency})" in result.stdout and "fill_rate (%)" in result.stdout
    assert "fill %" not in result.stdout


def test_a_status_line_breaks_between_words_on_an_80_column_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-off waits' notes (over 100 columns with the cache path) break between words on a
    terminal, a path kept whole on a line of its own; piped or logged they stay one line."""
    import io

    path = "/home/someone/.cache/allocsim/penalties/with/a/path/longer/than/the/terminal/is/wide/at/all"
    line = (f"fitting the Lagrangian bound's DC prices for retail-small on tuning seeds (once per scenario, "
            f"kept in {path}; seconds on small networks, several minutes on retail-medium)")
    out = io.StringIO()
    monkeypatch.setattr(cli, "errors", Console(file=out, width=80, force_terminal=True, color_system=None))
    cli._say(line)
    lines = out.getvalue().splitlines()
    assert " ".join(lines) == line and f"{path};" in lines
    assert all(len(x) <= 80 for x in lines if path not in x) and len(lines) == 4
    piped = io.StringIO()
    monkeypatch.setattr(cli, "errors", Console(file=piped, width=80, force_terminal=False))
    cli._say(line)
    assert piped.getvalue() == line + "\n"


def test_a_long_parameter_line_continues_indented(tmp_path: Path) -> None:
    """The parameter sources fit 80 columns: six tuned rules continue on an indented line."""
    args = ["benchmark", "--scenario", "retail-small", "--episodes", "1", "--no-bound", "--workers", "1",
            "--policies", "balanced,base-stock,min-max,myopic-lp,priority,proportional",
            "--out", str(tmp_path / "run")]
    result = runner.invoke(cli.app, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  tuned (packaged): "))
    assert lines[first] == "  tuned (packaged): balanced, base-stock, min-max, myopic-lp, priority,"
    assert lines[first + 1] == "    proportional"
