"""The benchmark's words: summary.md and the self-contained report.html (plots embedded as base64).

The page is a jinja2 template (``templates/report.html.j2``); its tables come from
``report_sections`` and its first line from ``comparisons.answer``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from allocsim.experiments import report_sections as sections
from allocsim.experiments.aggregation_gap import HOLDBACK_NAMES, gap_tables, kpi_table
from allocsim.experiments.bounds import CLOSED, GAP_KPIS, REFERENCE_CLOSED
from allocsim.experiments.comparisons import answer
from allocsim.experiments.evaluation import Row
from allocsim.experiments.kpis import HEADLINE, fmt_ci, fmt_number
from allocsim.experiments.warmup import WHOLE_EPISODE

#: How each timing mode reads in the run's facts.
TIMING_LINES = {
    "aggregated": "aggregated (each period's receipts at its start, its demand served in one batch "
                  "in priority order)",
    "events": "events (orders and receipts through the period as SimPy events, orders served first "
              "come first served)",
}


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
    penalised_mean: float | None = None  # mean penalised (information-relaxation) bound over the seeds
    dp_value: float | None = None  # exact DP optimum (expected profit), tiny scenarios only
    currency: str = "money"  # the scenario's currency
    timing: str = "aggregated"  # the timing mode the episodes were played in

    def lines(self) -> list[str]:
        seeds = f"{self.seeds[0]}..{self.seeds[-1]}" if len(self.seeds) > 1 else f"{self.seeds[0]}"
        demand = f"replayed from {self.demand_csv}" if self.demand_csv else "sampled from the scenario"
        demand += f"; {self.demand_resample}" if self.demand_resample else ""
        out = [
            f"scenario: {self.scenario}",
            f"episodes per rule: {len(self.seeds)} on seeds {seeds} (common random numbers)",
            f"demand: {demand}",
            f"timing: {TIMING_LINES.get(self.timing, self.timing)}",
            f"wall time: {self.wall_seconds:.1f} s on {self.workers} worker(s); created {self.created}",
        ]
        if self.bound_mean is not None:
            out.append(f"clairvoyant bound: {fmt_number(self.bound_mean)} mean profit of a perfect-foresight "
                       "LP per seed, above any policy on every seed")
        if self.penalised_mean is not None:
            out.append(f"penalised bound: {fmt_number(self.penalised_mean)} mean of the same LP with a "
                       "zero-mean sales penalty, an upper bound on the expected profit of any policy")
        if self.dp_value is not None:
            out.append(f"DP optimum: {fmt_number(self.dp_value)} expected profit of the optimal policy")
        if self.bound_mean is not None and (self.dp_value is not None or self.penalised_mean is not None):
            kind = "DP optimum" if self.dp_value is not None else "penalised bound"
            out.append(f"tightest reference: the {kind} (gap_to_reference_pct, reference gap closed %)")
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
    tight = REFERENCE_CLOSED in summary
    ref = str(summary["reference"].iloc[0])
    header = ["rank", "policy", f"Δ profit vs {ref}", *(["gap closed %"] if closed else []),
              *(["reference gap closed %"] if tight else []), *kpis]
    cells = []
    for _, row in summary.iterrows():
        cells.append([
            str(row["rank"]),
            str(row["policy"]) + (" *" if row["pareto"] else ""),
            fmt_ci(row["profit_vs_ref"], row["profit_vs_ref_ci95"]),
            *([fmt_number(row[CLOSED])] if closed else []),
            *([fmt_number(row[REFERENCE_CLOSED])] if tight else []),
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
    "`gap_to_optimal_pct` the same against the DP optimum (tiny scenarios), `gap_to_reference_pct` "
    "against the tightest reference (the DP optimum where it exists, else the penalised bound), "
    "`gap closed %` the share of the gap between the best rule and the bound a policy closes (best "
    "rule 0, bound 100) and `reference gap closed %` the same against the tightest reference."
)


def _params_text(entry: Mapping[str, Any]) -> str:
    params = dict(entry.get("params", {}))
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no parameters"


def summary_markdown(summary: pd.DataFrame, info: RunInfo) -> str:
    """summary.md: run facts, the ranked headline table, every KPI, and parameters used."""
    parts = [f"# Benchmark: {info.scenario}", "", f"**{answer(summary).sentence(info.currency)}**", ""]
    parts += [*[f"- {line}" for line in info.lines()], "", NOTE, ""]
    parts += ["## Ranked by profit", "", _md_table(*headline_rows(summary)), ""]
    parts += ["## Every KPI", "", _md_table(*all_kpi_rows(summary), right_from=1), ""]
    parts += ["## Parameters", ""]
    for label, entry in info.params.items():
        parts.append(f"- **{label}** ({entry.get('source', 'defaults')}): `{_params_text(entry)}`")
    return "\n".join(parts) + "\n"


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("allocsim.experiments", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def report_html(
    summary: pd.DataFrame, info: RunInfo, images: Mapping[str, tuple[str, bytes]],
    paired: pd.DataFrame, rows: Sequence[Row], gap: pd.DataFrame | None = None,
    holdback: pd.DataFrame | None = None,
) -> str:
    """One self-contained page: the answer, tables, figures as data URIs, glossary; no external resources."""
    order = [str(p) for p in summary["policy"]]
    currency = info.currency
    shown = [k for k in (*[c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")],
                         "avg_working_capital", CLOSED, REFERENCE_CLOSED)]
    reply = answer(summary)
    return _environment().get_template("report.html.j2").render(
        info=info,
        answer=reply.sentence(currency),
        tie=bool(reply.tied),
        facts=info.lines(),
        note=NOTE.replace("`", ""),
        ranked=sections.ranked(summary, info.params, currency),
        paired=sections.paired_blocks(paired, order[1:], currency),
        every=sections.every_kpi(rows, order, currency),
        locations=sections.breakdown(rows, order, "by_location", sections.LOCATION_KPIS, currency),
        channels=sections.breakdown(rows, order, "by_channel", sections.CHANNEL_KPIS, currency),
        figures={name: (title, _b64(png)) for name, (title, png) in images.items()},
        glossary=sections.glossary(shown, currency),
        params=[(label, str(entry.get("source", "defaults")), _params_text(entry))
                for label, entry in info.params.items()],
        closed_floor=sections.CLOSED_FLOOR,
        reference=str(summary["reference"].iloc[0]),
        negative_wc=sections.working_capital_note(summary, currency),
        gap=gap_tables(gap, currency) if gap is not None and not gap.empty else None,
        holdback=(kpi_table(holdback, HOLDBACK_NAMES, currency)
                  if holdback is not None and not holdback.empty else None),
    )
