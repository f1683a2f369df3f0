"""The gap columns' reference: the DP optimum where there is one, else the tightest valid bound.

Hand-made numbers where the tightest bound (Lagrangian, 100 per seed) is below the penalised one
(120, 110), so a reference taken from the penalised bound gives other values.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from allocsim.experiments.bounds import REFERENCE_CLOSED, attach_gaps, gap_closed
from allocsim.experiments.reference_interval import gap_reference, reference_interval
from allocsim.experiments.report import RunInfo
from allocsim.experiments.results_table import reference_columns, table_markdown

LAGRANGIAN = "lagrangian_bound"


def test_the_rule() -> None:
    assert gap_reference(100.0, 130.0, LAGRANGIAN) == ("dp_optimum", 100.0)  # the DP wins over any bound
    assert gap_reference(None, 130.0, LAGRANGIAN) == (LAGRANGIAN, 130.0)
    assert gap_reference(None, None, None) is None
    assert gap_reference(None, math.nan, "penalised_bound") is None


def _rows() -> list[dict]:
    return [{"policy": "a", "seed": 1, "profit": 90.0}, {"policy": "a", "seed": 2, "profit": 80.0}]


def test_episode_rows_measure_against_the_seeds_tightest_bound() -> None:
    rows = _rows()
    attach_gaps(rows, {1: 130.0, 2: 140.0}, None, {1: 120.0, 2: 110.0}, pd.Series({1: 100.0, 2: 100.0}),
                LAGRANGIAN)
    # 100 x (100 - 90) / 100 and 100 x (100 - 80) / 100; the penalised bound would give 25 and 27.27
    assert [r["gap_to_reference_pct"] for r in rows] == pytest.approx([10.0, 20.0])
    assert [r["tightest_bound"] for r in rows] == [100.0, 100.0]
    assert [r["penalised_bound"] for r in rows] == [120.0, 110.0]  # still shown beside it
    rows = _rows()
    attach_gaps(rows, {1: 130.0, 2: 140.0}, 95.0, {1: 120.0, 2: 110.0}, pd.Series({1: 100.0, 2: 100.0}),
                LAGRANGIAN)
    assert [r["gap_to_reference_pct"] for r in rows] == pytest.approx([100 * 5 / 95, 100 * 15 / 95])


def _summary() -> pd.DataFrame:
    return pd.DataFrame({"policy": ["b", "a"], "profit_mean": [95.0, 90.0], "bound_mean": [130.0, 130.0],
                         "penalised_bound_mean": [120.0, 120.0], "tightest_bound_mean": [100.0, 100.0]})


def test_the_share_closed_is_of_the_gap_to_the_mean_tightest_bound() -> None:
    out = gap_closed(_summary(), "a", tight_kind=LAGRANGIAN).set_index("policy")
    assert out.loc["a", REFERENCE_CLOSED] == pytest.approx(0.0)
    assert out.loc["b", REFERENCE_CLOSED] == pytest.approx(50.0)  # 100 x 5 / (100 - 90); penalised: 16.67
    with_dp = gap_closed(_summary(), "a", optimum=96.0, tight_kind=LAGRANGIAN).set_index("policy")
    assert with_dp.loc["b", REFERENCE_CLOSED] == pytest.approx(100 * 5 / 6)


def test_the_results_table_measures_against_the_tightest_bound() -> None:
    row = {"scenario": "x", "best_rule": "base-stock", "rule_profit": 150.0, "rule_fill": 90.0,
           "best_seed": "ppo-seed0", "learned_profit": 140.0, "learned_fill": 80.0, "diff": -10.0,
           "diff_ci": 1.0, "diff_pct": -6.67, "seeds": 1, "seed_spread_pct": 0.0, "dp": None, "bound": 260.0,
           "tightest": 200.0, "tightest_kind": LAGRANGIAN}
    assert reference_columns(row) == ("25.00", "30.00", "-20")  # 100 x 50 / 200, 100 x 60 / 200
    line = table_markdown([row]).splitlines()[-1]
    assert "| Lagrangian 200.00 | 260.00 | 25.00 | 30.00 | -20 |" in line


def test_the_report_names_the_gap_reference_and_its_value() -> None:
    profits = pd.DataFrame({"a": [90.0, 80.0]}, index=[1, 2])
    interval = reference_interval(profits, "a", None, pd.Series({1: 100.0, 2: 102.0}), LAGRANGIAN)
    info = RunInfo(scenario="x", description="", seeds=[1, 2], workers=1, warm_up=0, wall_seconds=1.0,
                   created="now", bound_mean=130.0, penalised_mean=115.0, interval=interval)
    assert "gap reference: the tightest bound (Lagrangian) 101.00 (gap_to_reference_pct, " \
           "reference gap closed %)" in info.lines()
    with_dp = RunInfo(**{**info.__dict__, "dp_value": 97.5})
    assert any(line.startswith("gap reference: the DP optimum 97.50 ") for line in with_dp.lines())


def test_the_console_table_shows_the_gap_to_the_gap_reference() -> None:
    import io

    from rich.console import Console

    from allocsim.experiments.tables import benchmark_table

    summary = pd.DataFrame({
        "rank": [1], "policy": ["a"], "pareto": [True], "reference": ["a"], "profit_vs_ref": [0.0],
        "profit_vs_ref_ci95": [0.0], "profit_mean": [90.0], "profit_ci95": [1.0],
        "gap_to_bound_pct_mean": [30.77], "gap_to_bound_pct_ci95": [1.0],
        "gap_to_reference_pct_mean": [10.0], "gap_to_reference_pct_ci95": [1.0]})
    out = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    out.print(benchmark_table(summary, "t"))
    text = out.export_text()
    assert "reference_" in text and "10.0" in text  # the header folds: gap_to_ / reference_ / pct (%)
    assert "bound_" not in text and "30.8" not in text  # the clairvoyant bound's gap: in the CSV
