"""The benchmark's words: summary.md and the self-contained report.html (plots embedded as base64)."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from allocsim.experiments.bounds import CLOSED, GAP_KPIS
from allocsim.experiments.kpis import HEADLINE, fmt_ci, fmt_number
from allocsim.experiments.warmup import WHOLE_EPISODE


@dataclass(frozen=True)
class RunInfo:
    """What a reader needs to trust the numbers: scenario, seeds, settings and where parameters came from."""

    scenario: str
    description: str
    seeds: Sequence[int]
    workers: int
    warm_up: int
    wall_seconds: float
    created: str
    demand_csv: str | None = None
    demand_resample: str | None = None  # how seeds vary a replayed history (envs.history_resample.describe)
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # label -> {params, source}
    bound_mean: float | None = None  # mean clairvoyant bound over the seeds
    dp_value: float | None = None  # exact DP optimum (expected profit), tiny scenarios only

    def lines(self) -> list[str]:
        seeds = f"{self.seeds[0]}..{self.seeds[-1]}" if len(self.seeds) > 1 else f"{self.seeds[0]}"
        demand = f"replayed from {self.demand_csv}" if self.demand_csv else "sampled from the scenario"
        demand += f"; {self.demand_resample}" if self.demand_resample else ""
        out = [
            f"scenario: {self.scenario}",
            f"episodes per rule: {len(self.seeds)} on seeds {seeds} (common random numbers)",
            f"demand: {demand}",
            f"wall time: {self.wall_seconds:.1f} s on {self.workers} worker(s); created {self.created}",
        ]
        if self.bound_mean is not None:
            out.append(f"clairvoyant bound: {fmt_number(self.bound_mean)} mean profit of a perfect-foresight "
                       "LP per seed, above any policy on every seed")
        if self.dp_value is not None:
            out.append(f"DP optimum: {fmt_number(self.dp_value)} expected profit of the optimal policy")
        if self.warm_up:
            out.append(
                f"warm-up: the first {self.warm_up} periods are dropped from every KPI except "
                f"{', '.join(WHOLE_EPISODE)}, which cover the whole episode"
            )
        return out


def headline_rows(summary: pd.DataFrame, kpis: Sequence[str] = HEADLINE) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the ranked table: rank, policy, paired profit difference, KPI mean ± CI.

    With bounds: the gap columns and the share of the best-rule-to-bound gap each policy closes.
    """
    kpis = [k for k in (*kpis, *GAP_KPIS) if f"{k}_mean" in summary]
    closed = CLOSED in summary
    ref = str(summary["reference"].iloc[0])
    header = ["rank", "policy", f"Δ profit vs {ref}", *(["gap closed %"] if closed else []), *kpis]
    cells = []
    for _, row in summary.iterrows():
        cells.append([
            str(row["rank"]),
            str(row["policy"]) + (" *" if row["pareto"] else ""),
            fmt_ci(row["profit_vs_ref"], row["profit_vs_ref_ci95"]),
            *([fmt_number(row[CLOSED])] if closed else []),
            *[fmt_ci(row[f"{k}_mean"], row[f"{k}_ci95"]) for k in kpis],
        ])
    return header, cells


def all_kpi_rows(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Every scalar KPI as a row, one column per policy (ranked)."""
    kpis = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]
    header = ["KPI", *map(str, summary["policy"])]
    cells = [[k, *[fmt_ci(m, h) for m, h in zip(summary[f"{k}_mean"], summary[f"{k}_ci95"], strict=True)]]
             for k in kpis]
    return header, cells


def _md_table(header: Sequence[str], cells: Sequence[Sequence[str]], right_from: int = 2) -> str:
    align = ["---" if i < right_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    return "\n".join(lines)


NOTE = (
    "Means over episodes with 95% confidence intervals (Student t). Every rule plays the same seeds, "
    "so `Δ profit` is the paired difference per seed with its paired 95% CI; an interval that "
    "excludes 0 is a real difference. `*` marks the Pareto front of fill rate against profit. "
    "`gap_to_bound_pct` is 100 x (bound - profit) / |bound| per seed against the clairvoyant bound, "
    "`gap_to_optimal_pct` the same against the DP optimum (tiny scenarios), and `gap closed %` the "
    "share of the gap between the best rule and the bound a policy closes (best rule 0, bound 100)."
)


def _params_text(entry: Mapping[str, Any]) -> str:
    params = dict(entry.get("params", {}))
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no parameters"


def summary_markdown(summary: pd.DataFrame, info: RunInfo) -> str:
    """summary.md: run facts, the ranked headline table, every KPI, and parameters used."""
    parts = [f"# Benchmark: {info.scenario}", "", *[f"- {line}" for line in info.lines()], "", NOTE, ""]
    parts += ["## Ranked by profit", "", _md_table(*headline_rows(summary)), ""]
    parts += ["## Every KPI", "", _md_table(*all_kpi_rows(summary), right_from=1), ""]
    parts += ["## Parameters", ""]
    for label, entry in info.params.items():
        parts.append(f"- **{label}** ({entry.get('source', 'defaults')}): `{_params_text(entry)}`")
    return "\n".join(parts) + "\n"


def _html_table(header: Sequence[str], cells: Sequence[Sequence[str]], right_from: int = 2) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"num" if i >= right_from else "txt"}">{html.escape(c)}</td>'
                  for i, c in enumerate(row))
        + "</tr>"
        for row in cells
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#1a202c;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #e2e8f0}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0;overflow-x:auto;display:block}
th,td{border:1px solid #e2e8f0;padding:.3rem .5rem;white-space:nowrap}th{background:#edf2f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}tbody tr:first-child{background:#ebf8ff}
img{max-width:100%;border:1px solid #e2e8f0;margin:.5rem 0}.note{color:#4a5568;font-size:.9rem}
"""


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def report_html(summary: pd.DataFrame, info: RunInfo, images: Mapping[str, tuple[str, bytes]]) -> str:
    """One self-contained page: facts, tables and every figure as a data URI; no external resources."""
    facts = "".join(f"<li>{html.escape(line)}</li>" for line in info.lines())
    figures = "".join(
        f"<h2>{html.escape(title)}</h2>"
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,{_b64(png)}">'
        for title, png in images.values()
    )
    params = "".join(
        f"<li><b>{html.escape(label)}</b> ({html.escape(str(entry.get('source', 'defaults')))}): "
        f"<code>{html.escape(_params_text(entry))}</code></li>"
        for label, entry in info.params.items()
    )
    best = html.escape(str(summary["policy"].iloc[0]))
    profit = fmt_number(float(summary["profit_mean"].iloc[0]))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>allocsim benchmark: {html.escape(info.scenario)}</title><style>{STYLE}</style></head>
<body>
<h1>allocsim benchmark: {html.escape(info.scenario)}</h1>
<p>Best rule by mean profit: <b>{best}</b> ({profit}).</p>
<ul>{facts}</ul>
<p class="note">{html.escape(info.description)}</p>
<h2>Ranked by profit</h2>
<p class="note">{html.escape(NOTE).replace('`', '')}</p>
{_html_table(*headline_rows(summary))}
{figures}
<h2>Every KPI</h2>
{_html_table(*all_kpi_rows(summary), right_from=1)}
<h2>Parameters</h2>
<ul>{params}</ul>
</body></html>
"""
