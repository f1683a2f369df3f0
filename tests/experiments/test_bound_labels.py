"""One name per bound kind wherever a user reads it: ``history_bound`` is "history-priced" (as
docs/bounds.md names it) in the console, the report, the rerender lines and the results tables, never
"history bound"; the kinds themselves (JSON keys, run.json) stay as they are."""

from __future__ import annotations

import pandas as pd
import pytest

from allocsim.experiments.bound_choice import kind_label, kind_name
from allocsim.experiments.reference_interval import markdown_table, reference_interval
from allocsim.experiments.report import RunInfo
from allocsim.experiments.report_sections import interval_tables
from allocsim.experiments.results_table import table_markdown
from allocsim.experiments.tables import bound_summary, bound_table

HISTORY = "history_bound"


@pytest.mark.parametrize(("kind", "label", "name"), [
    ("history_bound", "history-priced", "history-priced bound"),
    ("lagrangian_bound", "Lagrangian", "Lagrangian bound"),
    ("lane_penalty_bound", "lane-penalty", "lane-penalty bound"),
    ("penalised_bound", "penalised", "penalised bound"),
    ("dp_optimum", "DP optimum", "DP optimum"),
])
def test_every_kind_has_the_name_the_docs_use(kind: str, label: str, name: str) -> None:
    assert kind_label(kind) == label and kind_name(kind) == name


def _interval() -> object:
    """Two seeds, policy a 90 and 80 against a history-priced bound of 100 and 102 (mean 101)."""
    profits = pd.DataFrame({"a": [90.0, 80.0]}, index=[1, 2])
    return reference_interval(profits, "a", None, pd.Series({1: 100.0, 2: 102.0}), HISTORY)


def test_the_report_and_console_lines_say_history_priced() -> None:
    interval = _interval()
    info = RunInfo(scenario="x", description="", seeds=[1, 2], workers=1, warm_up=0, wall_seconds=1.0,
                   created="now", bound_mean=130.0, penalised_mean=115.0, interval=interval)
    lines = info.lines()
    assert "gap reference: the tightest bound (history-priced) 101.00 (gap_to_reference_pct, " \
           "reference gap closed %)" in lines
    sentence = next(line for line in lines if line.startswith("reference interval: "))
    assert "; tightest bound (history-priced) 101 ± " in sentence
    summary, _ = interval_tables(interval, ["a"], "EUR")
    assert [c.text for c in summary.rows[2][:2]] == ["tightest bound", "history-priced"]
    assert "history bound" not in " ".join(lines) + " ".join(c.text for r in summary.rows for c in r)


def test_the_results_tables_say_history_priced() -> None:
    interval = _interval()
    assert "| history-priced 101 ± " in markdown_table([("x", interval)])
    row = {"scenario": "x", "best_rule": "base-stock", "rule_profit": 150.0, "rule_fill": 90.0,
           "best_seed": "ppo-seed0", "learned_profit": 140.0, "learned_fill": 80.0, "diff": -10.0,
           "diff_ci": 1.0, "diff_pct": -6.67, "seeds": 1, "seed_spread_pct": 0.0, "dp": None, "bound": 260.0,
           "tightest": 200.0, "tightest_kind": HISTORY}
    assert "| history-priced 200.00 | 260.00 |" in table_markdown([row])


def test_bound_says_history_priced_in_its_summary_and_caption() -> None:
    """``allocsim bound`` on a scenario without a DP optimum where the history-priced bound is the
    tightest: the closing line and the table's gap reference both name it so."""
    rows = [{"seed": 1, "bound": 130.0, "penalised_bound": 125.0, "rows": 4, "cols": 5, "nnz": 6,
             "solve_seconds": 0.1}]
    report = {"scenario": "x", "dp_value": None, "dp_note": "too large", "bounds": rows,
              "zero_penalty_mean": 130.0, "zero_penalty_ci95": 0.0, "penalised_mean": 125.0,
              "penalised_ci95": 0.0, "tightening_pct": 3.85, "seeds_penalised_above_zero": 0,
              "lagrangian_mean": 124.0, "history_mean": 122.75, "tightest_bound": 122.75,
              "tightest_bound_kind": HISTORY, "reference": 122.75, "reference_kind": HISTORY}
    line = bound_summary(report, 1.0)
    assert "; history-priced bound 122.75; tightest: history-priced bound 122.75; 1.0 s" in line
    assert "gap reference: history-priced bound 122.75" in bound_table(report).caption
