"""Console tables at 80 columns: no number split across lines, no header cut, nothing wider than 80."""

from __future__ import annotations

import io
import re

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from allocsim.experiments.tables import TERMINAL_KPIS, benchmark_table, bound_table

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
WIDTH = 80


def _render(renderable: object, width: int = WIDTH) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _summary(values: list[tuple[float, float]], names: list[str]) -> pd.DataFrame:
    rows = []
    for rank, name in enumerate(names, start=1):
        row: dict[str, object] = {"rank": rank, "policy": name, "pareto": rank == 1, "reference": names[0]}
        for i, kpi in enumerate(("profit_vs_ref", *[f"{k}_mean" for k in TERMINAL_KPIS])):
            mean, half = values[(rank * 7 + i) % len(values)]
            row[kpi] = mean
            row[kpi.replace("_mean", "_ci95") if kpi.endswith("_mean") else "profit_vs_ref_ci95"] = half
        rows.append(row)
    return pd.DataFrame(rows)


def _cell_numbers(summary: pd.DataFrame) -> set[str]:
    """Every number the table must show, as formatted by fmt_ci (mean and half-width) with the
    decimals of its column (one count per column: the finest any of its cells needs)."""
    from allocsim.experiments.kpis import column_decimals, fmt_ci

    out: set[str] = set()
    pairs = [("profit_vs_ref", "profit_vs_ref_ci95"), *[(f"{k}_mean", f"{k}_ci95") for k in TERMINAL_KPIS]]
    for m, h in pairs:
        column = list(zip(summary[m], summary[h], strict=True))
        decimals = column_decimals(column)
        for mean, half in column:
            out.update(NUMBER.findall(fmt_ci(mean, half, decimals)))
    return out


def _numbers_by_line(text: str) -> set[str]:
    return {n for line in text.splitlines() for n in NUMBER.findall(line)}


magnitudes = st.tuples(
    st.floats(-2e6, 2e6, allow_nan=False).map(lambda v: round(v, 3)),
    st.floats(0, 5e4, allow_nan=False).map(lambda v: round(v, 3)),
)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(magnitudes, min_size=3, max_size=12),
       names=st.lists(st.sampled_from(["min-max", "base-stock", "pretrained:ppo", "proportional",
                                       "onnx:retail-small", "hold", "random", "myopic-lp"]),
                      min_size=2, max_size=9, unique=True))
def test_benchmark_table_keeps_every_number_whole_at_80_columns(values: list[tuple[float, float]],
                                                                names: list[str]) -> None:
    summary = _summary(values, names)
    text = _render(benchmark_table(summary, "retail-small · 10 episode(s) per rule on seeds 40000..40009"))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= WIDTH
    expected = _cell_numbers(summary)
    shown = _numbers_by_line(text)
    assert expected <= shown, f"split or missing: {sorted(expected - shown)[:5]}\n{text}"
    allowed = expected | {"1", "2", "3", "10", "40000", "40009", "95"} | {str(i) for i in range(1, 10)}
    assert shown <= allowed, f"fragments of numbers: {sorted(shown - allowed)[:5]}\n{text}"
    for name in names:
        assert any(name in line for line in lines)
    for word in ("rank", "policy", "profit", "fill_rate", "holding_cost", "lost_", "avg_", "gap_"):
        assert any(word in line for line in lines), word  # the KPI keys (long ones wrap after a _)


def test_real_ranking_at_80_columns_continues_in_a_second_table() -> None:
    summary = _summary([(47_224.0, 399.0), (-54_823.0, 538.0), (1_413.0, 133.0), (94.1, 1.3)],
                       ["min-max", "base-stock", "pretrained:ppo", "hold"])
    narrow, wide = _render(benchmark_table(summary, "t")), _render(benchmark_table(summary, "t"), width=160)
    assert "continued 2/2" in narrow and "continued" not in wide
    assert "47,224" in narrow and "-54,823" in narrow and "47,22\n" not in narrow


def test_bound_table_fits_80_columns() -> None:
    report = {"scenario": "retail-medium", "dp_value": None, "dp_note": "too many states",
              "bounds": [{"seed": 40000 + i, "bound": 1_234_567.891, "rows": 123_456, "cols": 234_567,
                          "nnz": 1_234_567, "solve_seconds": 12.345} for i in range(3)]}
    text = _render(bound_table(report))
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert {"1,234,567.89", "123,456", "234,567", "1,234,567", "12.345"} <= _numbers_by_line(text)


def test_bound_table_with_the_penalised_bound_fits_80_columns() -> None:
    rows = [{"seed": 40000 + i, "bound": 1_234_567.891, "penalised_bound": 1_222_333.444, "rows": 123_456,
             "cols": 234_567, "nnz": 1_234_567, "solve_seconds": 12.345} for i in range(3)]
    report = {"scenario": "retail-medium", "dp_value": None, "dp_note": "too many states", "bounds": rows,
              "zero_penalty_mean": 1_234_567.891, "zero_penalty_ci95": 1_111.0,
              "penalised_mean": 1_222_333.444, "penalised_ci95": 999.0, "tightening_pct": 0.99,
              "seeds_penalised_above_zero": 1,
              "reference": 1_222_333.444, "reference_kind": "penalised_bound"}
    text = _render(bound_table(report))
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert {"1,234,567.89", "1,222,333.44"} <= _numbers_by_line(text)
    assert "0.99 % tighter" in " ".join(text.split()) and "1 of 3 seeds" in " ".join(text.split())


def test_a_penalised_bound_above_the_zero_penalty_one_reads_looser_not_negative_tighter() -> None:
    """tiny-dp on 5 seeds: penalised mean 122.02 above the zero-penalty 118.40, tightening_pct -3.06."""
    rows = [{"seed": 40000, "bound": 118.40, "penalised_bound": 122.02, "rows": 40, "cols": 51, "nnz": 118,
             "solve_seconds": 0.01}]
    report = {"scenario": "tiny-dp", "dp_value": 121.34, "dp_note": None, "bounds": rows,
              "zero_penalty_mean": 118.40, "zero_penalty_ci95": 37.62, "penalised_mean": 122.02,
              "penalised_ci95": 17.99, "tightening_pct": -3.06, "seeds_penalised_above_zero": 1,
              "reference": 121.34, "reference_kind": "dp_optimum"}
    flat = " ".join(_render(bound_table(report)).split())
    assert "(3.06 % looser, above the zero-penalty bound on 1 of 1 seeds)" in flat and "tighter" not in flat
