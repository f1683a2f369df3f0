"""Rich tables for the terminal: the benchmark's ranking and the tuning search, fitted to the console.

Cells are formatted first; each column is exactly as wide as its longest line (headers wrap
at spaces only), and the columns that do not fit the console's width continue in a second
table that repeats the key columns. A number is never split across lines, a header never cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from allocsim.experiments.bound_choice import kind_name
from allocsim.experiments.kpi_labels import console_label
from allocsim.experiments.kpis import CONTRACT_KPIS, HEADLINE, column_decimals, fmt_ci

if TYPE_CHECKING:  # annotations only: pandas, SciPy's stats and the simulator's kernels take 3-7 s to load
    import pandas as pd  # at load 7, before simulate's or evaluate's few-line table

    from allocsim.experiments.reference_interval import ReferenceInterval
    from allocsim.experiments.tuning import TuneResult

TERMINAL_KPIS = (
    "profit", "fill_rate", "holding_cost", "lost_sales_units", "avg_inventory_value", "gap_to_reference_pct",
)
_EDGE = 1  # rich draws one border character per column edge
_PAD = 2  # and one space of padding on each side of a cell
MIN_HEADER = 8  # columns narrower than this wrap a header of short words word by word
KEY_WHOLE = 12  # KPI keys up to this long (fill_rate, holding_cost) stay on one line in a header


@dataclass(frozen=True)
class Col:
    """A column: header text (wraps at spaces), justification, and its formatted cells."""

    header: str
    cells: Sequence[str]
    justify: str = "right"

    @property
    def width(self) -> int:
        words = self.header.split() or [""]
        parts = [p for word in words for p in _parts(word)]
        cells = max(len(line) for text in (*parts, *self.cells) for line in text.splitlines() or [""])
        whole = min(max(len(w) for w in words), KEY_WHOLE)  # a short key is never cut
        return max(cells, whole, min(len(self.header), MIN_HEADER))

    def header_lines(self) -> str:
        """The header wrapped to the column: at spaces, and after the underscores of a KPI key."""
        lines: list[str] = []
        for word in self.header.split():
            for i, part in enumerate(_parts(word)):
                glue = "" if i else " "
                if lines and len(lines[-1]) + len(glue) + len(part) <= self.width:
                    lines[-1] += glue + part
                else:
                    lines.append(part)
        return "\n".join(lines or [""])


def _parts(word: str) -> list[str]:
    """``avg_inventory_value`` -> ``avg_``, ``inventory_``, ``value``: where a key may wrap."""
    return re.findall(r"[^_]*_|[^_]+$", word) or [word]


@dataclass
class FittedTable:
    """Key columns, then value columns; rendered as one table or several that fit the console."""

    title: str
    keys: list[Col]
    values: list[Col]
    caption: str | None = None
    bold_first: bool = True
    sections: bool = False

    def groups(self, width: int) -> list[list[Col]]:
        """Value columns packed greedily into tables no wider than ``width`` (at least one per table)."""
        base = _EDGE + sum(c.width + _PAD + _EDGE for c in self.keys)
        packed: list[list[Col]] = [[]]
        used = base
        for col in self.values:
            need = col.width + _PAD + _EDGE
            if packed[-1] and used + need > width:
                packed.append([])
                used = base
            packed[-1].append(col)
            used += need
        return packed

    def tables(self, width: int) -> Iterator[Table | Text]:
        """The tables; a continued table's title and the caption are lines of their own, folded at
        the console's width (a table's own title or caption folds at the table's, often narrow)."""
        groups = self.groups(width)
        for i, group in enumerate(groups):
            if i:
                yield Text(f"{self.title} (continued {i + 1}/{len(groups)})", style="table.title")
            table = Table(title=None if i else self.title)
            for col in (*self.keys, *group):
                table.add_column(col.header_lines(), justify=col.justify, no_wrap=True, min_width=col.width)
            rows = len(self.keys[0].cells)
            for r in range(rows):
                table.add_row(*[c.cells[r] for c in (*self.keys, *group)],
                              style="bold" if self.bold_first and r == 0 else None,
                              end_section=self.sections)
            yield table
        if self.caption:
            yield Text(self.caption, style="table.caption")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.tables(options.max_width)


def ci_column(pairs: list[tuple[float, float]], two_lines: bool = False) -> list[str]:
    """``mean ± half-width`` cells with one decimal count for the whole column; ``two_lines`` puts
    the interval under the mean (``47,098`` over ``± 263``), a narrow cell that never splits a number."""
    decimals = column_decimals(pairs)
    cells = [fmt_ci(m, h, decimals) for m, h in pairs]
    return [c.replace(" ± ", "\n± ") for c in cells] if two_lines else cells


def benchmark_table(summary: pd.DataFrame, title: str, kpis: tuple[str, ...] = TERMINAL_KPIS,
                    currency: str = "", interval: ReferenceInterval | None = None) -> FittedTable:
    """Ranked rules: paired profit difference against the best, then KPI mean ± 95% CI (KPIs under
    their one console label, money in ``currency``, one decimal count per column); with ``interval``,
    each policy's share of the best-rule-to-best-achievable gap and the interval in the caption."""
    from allocsim.experiments.reference_interval import SHARE

    kpis = tuple(k for k in kpis if f"{k}_mean" in summary)
    ref = str(summary["reference"].iloc[0])
    rows = list(summary.to_dict("records"))
    keys = [
        Col("rank", [str(r["rank"]) for r in rows]),
        Col("policy", [str(r["policy"]) + (" *" if r["pareto"] else "") for r in rows], justify="left"),
    ]
    money = f" ({currency})" if currency else ""
    values = [Col(f"Δ profit{money} vs {ref}",
                  ci_column([(r["profit_vs_ref"], r["profit_vs_ref_ci95"]) for r in rows], True))]
    values += [Col(console_label(k, currency),
                   ci_column([(r[f"{k}_mean"], r[f"{k}_ci95"]) for r in rows], True)) for k in kpis]
    caption = "mean ± 95% CI per episode; * = Pareto front of fill rate vs profit"
    if interval is not None and SHARE in summary and summary[SHARE].notna().any():
        values.append(Col("best gap closed %", share_cells(rows)))
        caption += ("; best gap closed % = share of the gap from the best tuned rule to the best "
                    "achievable (rule 0, best 100)")
    elif interval is not None and interval.rule is not None:
        caption += "; no gap between the best tuned rule and the best achievable to close"
    if interval is not None:
        caption += f"\nreference interval: {interval.sentence(currency)}"
    return FittedTable(title, keys, values, caption=caption, sections=True)


def share_cells(rows: Sequence[dict[str, Any]]) -> list[str]:
    """``75\n± 62`` cells of the share closed; ``< -100`` below it (unbounded below), ``n/a`` undefined."""
    from allocsim.experiments.reference_interval import SHARE, SHARE_CI

    cells = []
    for r in rows:
        mean, half = float(r[SHARE]), float(r[SHARE_CI])
        if mean != mean:
            cells.append("n/a")
        elif mean < -100:
            cells.append("< -100")
        else:
            cells.append(fmt_ci(mean, half, 0).replace(" ± ", "\n± "))
    return cells


def tune_table(result: TuneResult, limit: int | None = None, currency: str = "") -> FittedTable:
    """The grid search ranked by profit, with each point's paired difference against the winner."""
    shown = result.candidates if limit is None else result.candidates[:limit]
    keys = [Col("rank", [str(i) for i in range(1, len(shown) + 1)])]
    values = [Col(k, [f"{c.params.get(k)}" for c in shown]) for k in result.grid]
    values += [
        Col(console_label("profit", currency),
            ci_column([(c.profit.mean, c.profit.half_width) for c in shown])),
        Col("vs best", ci_column([(c.vs_best.mean, c.vs_best.half_width) for c in shown])),
        Col(console_label("fill_rate"),
            ci_column([(c.fill_rate.mean, c.fill_rate.half_width) for c in shown])),
    ]
    title = (f"tune {result.policy} on {result.scenario}: {len(result.candidates)} grid points x "
             f"{len(result.seeds)} tuning seeds ({result.seeds[0]}..{result.seeds[-1]})")
    caption = "mean ± 95% CI; vs best = paired profit difference on the same seeds"
    if len(shown) < len(result.candidates):
        caption += f"; the {len(shown)} best of {len(result.candidates)} grid points"
    return FittedTable(title, keys, values, caption=caption)


def tightening_text(pct: float) -> str:
    """How much the penalised bound tightens the zero-penalty one, in words: ``0.99 % tighter``, or
    ``3.06 % looser`` when its mean is the higher (tiny-dp on 5 seeds), never ``-3.06 % tighter``."""
    return f"{pct:.2f} % tighter" if pct >= 0 else f"{-pct:.2f} % looser"


def bound_table(report: dict[str, Any]) -> FittedTable:
    """``allocsim bound``: zero-penalty and penalised bound per seed with the LP size; the references."""
    dp = report["dp_value"]
    caption = (f"DP optimum (expected profit of the optimal policy): {dp:,.2f}" if dp is not None
               else f"no DP optimum: {report['dp_note']}")
    rows = report["bounds"]
    if "penalised_mean" in report:
        caption += (f"; zero-penalty bound {report['zero_penalty_mean']:,.2f}"
                    f" ± {report['zero_penalty_ci95']:,.2f}; penalised bound {report['penalised_mean']:,.2f}"
                    f" ± {report['penalised_ci95']:,.2f} ({tightening_text(report['tightening_pct'])},"
                    " above the"
                    f" zero-penalty bound on {report['seeds_penalised_above_zero']} of {len(rows)} seeds);"
                    f" gap reference: {kind_name(report['reference_kind'])}"
                    f" {report['reference']:,.2f}")
    keys = [Col("seed", [str(r["seed"]) for r in rows])]
    penalised = [Col("penalised", [f"{r['penalised_bound']:,.2f}" for r in rows])] if rows and (
        "penalised_bound" in rows[0]) else []
    values = [
        Col("bound", [f"{r['bound']:,.2f}" for r in rows]),
        *penalised,
        *[Col(name, [f"{r[name]:,}" for r in rows]) for name in ("rows", "cols", "nnz")],
        Col("solve s", [f"{r['solve_seconds']:.3f}" for r in rows]),
    ]
    title = f"{report['scenario']} · clairvoyant and penalised bound per seed (perfect-foresight LP, HiGHS)"
    return FittedTable(title, keys, values, caption=caption, bold_first=False)


def bound_summary(report: dict[str, Any], seconds: float) -> str:
    """One closing line: seeds bounded, mean and range of the bound, the DP optimum, wall time."""
    values = [row["bound"] for row in report["bounds"]]
    mean = sum(values) / len(values)
    line = (f"{report['scenario']}: clairvoyant bound on {len(values)} seed(s), mean {mean:,.2f} "
            f"(min {min(values):,.2f}, max {max(values):,.2f}); penalised bound mean "
            f"{report['penalised_mean']:,.2f} ({tightening_text(report['tightening_pct'])})")
    def over(key: str) -> str:  # the Lagrangian and lane-penalty means may run on more seeds than asked
        span = report.get(key)
        return f" ({span['count']} seeds)" if span and span["count"] != len(values) else ""

    if report["lagrangian_mean"] is not None:
        line += f"; Lagrangian bound mean {report['lagrangian_mean']:,.2f}{over('lagrangian_seeds')}"
    if report.get("lane_penalty_mean") is not None:
        line += f"; lane-penalty bound mean {report['lane_penalty_mean']:,.2f}{over('lane_penalty_seeds')}"
    if report.get("history_mean") is not None:
        line += f"; history-priced bound {report['history_mean']:,.2f}"
    line += f"; tightest: {kind_name(report['tightest_bound_kind'])} {report['tightest_bound']:,.2f}"
    if report["dp_value"] is not None:
        line += f"; DP optimum {report['dp_value']:,.2f}"
    return f"{line}; {seconds:.1f} s"


def headline_table(result: dict[str, Any], what: str, currency: str, contracts: bool = True) -> Table:
    """The headline KPIs' means of a ``simulate``/``evaluate`` result, under their console labels,
    money in ``currency``, two decimals throughout; without ``contracts`` in the scenario its contract
    KPIs read "–" (the result keeps their value: ``kpis.CONTRACT_KPIS``)."""
    mode = " · events mode" if result["timing"] == "events" else ""
    table = Table(title=f"{result['scenario']} · {what}{mode}")
    table.add_column("KPI")
    table.add_column("mean per episode", justify="right")
    for key in HEADLINE:
        shown = "–" if key in CONTRACT_KPIS and not contracts else f"{result['summary'][key]:,.2f}"
        table.add_row(console_label(key, currency), shown)
    return table
