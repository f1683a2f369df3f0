"""Rich tables for the terminal: the benchmark's ranking and the tuning search."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.table import Table

from allocsim.experiments.kpis import fmt_ci
from allocsim.experiments.tuning import TuneResult

TERMINAL_KPIS = (
    "profit", "fill_rate", "holding_cost", "lost_sales_units", "avg_inventory_value", "gap_to_bound_pct",
)


def _two_lines(mean: float, half_width: float) -> str:
    """``47,098`` over ``± 263``: a narrow cell that never splits a number."""
    return fmt_ci(mean, half_width).replace(" ± ", "\n± ")


def benchmark_table(summary: pd.DataFrame, title: str, kpis: tuple[str, ...] = TERMINAL_KPIS) -> Table:
    """Ranked rules: paired profit difference against the best, then KPI mean ± 95% CI."""
    kpis = tuple(k for k in kpis if f"{k}_mean" in summary)
    ref = str(summary["reference"].iloc[0])
    table = Table(title=title, caption="mean ± 95% CI; * = Pareto front of fill rate vs profit")
    table.add_column("rank", justify="right", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    table.add_column(f"Δ profit vs {ref}", justify="right", overflow="fold")
    for kpi in kpis:
        table.add_column(kpi.replace("_", " "), justify="right", overflow="fold")
    for i, (_, row) in enumerate(summary.iterrows()):
        table.add_row(
            str(row["rank"]),
            str(row["policy"]) + (" *" if row["pareto"] else ""),
            _two_lines(row["profit_vs_ref"], row["profit_vs_ref_ci95"]),
            *[_two_lines(row[f"{k}_mean"], row[f"{k}_ci95"]) for k in kpis],
            style="bold" if i == 0 else None,
            end_section=True,
        )
    return table


def tune_table(result: TuneResult, limit: int | None = None) -> Table:
    """The grid search ranked by profit, with each point's paired difference against the winner."""
    keys = list(result.grid)
    table = Table(
        title=f"tune {result.policy} on {result.scenario}: {len(result.candidates)} grid points x "
              f"{len(result.seeds)} tuning seeds ({result.seeds[0]}..{result.seeds[-1]})",
        caption="mean ± 95% CI; vs best = paired profit difference on the same seeds",
    )
    table.add_column("rank", justify="right")
    for key in keys:
        table.add_column(key, justify="right")
    for name in ("profit", "vs best", "fill_rate"):
        table.add_column(name, justify="right")
    shown = result.candidates if limit is None else result.candidates[:limit]
    for rank, cand in enumerate(shown, start=1):
        table.add_row(
            str(rank),
            *[f"{cand.params.get(k)}" for k in keys],
            fmt_ci(cand.profit.mean, cand.profit.half_width),
            fmt_ci(cand.vs_best.mean, cand.vs_best.half_width),
            fmt_ci(cand.fill_rate.mean, cand.fill_rate.half_width),
            style="bold" if rank == 1 else None,
        )
    return table


def bound_table(report: dict[str, Any]) -> Table:
    """``allocsim bound``: the clairvoyant bound per seed with its LP size, and the DP optimum."""
    dp = report["dp_value"]
    caption = (f"DP optimum (expected profit of the optimal policy): {dp:,.2f}" if dp is not None
               else f"no DP optimum: {report['dp_note']}")
    table = Table(title=f"{report['scenario']} · clairvoyant bound per seed (perfect-foresight LP, HiGHS)",
                  caption=caption)
    for name in ("seed", "bound", "rows", "cols", "nnz", "solve s"):
        table.add_column(name, justify="right")
    for row in report["bounds"]:
        table.add_row(str(row["seed"]), f"{row['bound']:,.2f}", f"{row['rows']:,}", f"{row['cols']:,}",
                      f"{row['nnz']:,}", f"{row['solve_seconds']:.3f}")
    return table
