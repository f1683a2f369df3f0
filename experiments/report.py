"""The benchmark's words: summary.md and the self-contained report.html (plots embedded as base64).

The page is a jinja2 template (``templates/report.html.j2``); its tables come from
``report_sections`` and ``report_stock``, its first words from ``recommendation.recommend``.
No absolute path of the machine reaches a page or ``run.json``: ``portable`` rewrites them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from allocsim.experiments import report_sections as sections
from allocsim.experiments import report_stock
from allocsim.experiments.aggregation_gap import HOLDBACK_NAMES, gap_tables, kpi_table
from allocsim.experiments.bound_choice import kind_label, kind_name
from allocsim.experiments.bounds import CLOSED, GAP_KPIS, REFERENCE_CLOSED
from allocsim.experiments.evaluation import Row
from allocsim.experiments.kpis import CONTRACT_KPIS, HEADLINE, fmt_ci, fmt_number
from allocsim.experiments.portable_paths import portable as portable  # re-exported: the report's API
from allocsim.experiments.recommendation import WEEK, recommend
from allocsim.experiments.reference_interval import DP_KIND, SHARE, ReferenceInterval, gap_reference
from allocsim.experiments.warmup import WHOLE_EPISODE

#: How each timing mode reads in the run's facts.
TIMING_LINES = {
    "aggregated": "aggregated (each period's receipts at its start, its demand served in one batch "
                  "in priority order)",
    "events": "events (orders and receipts through the period as SimPy events, orders served first "
              "come first served)",
}


#: The run's files a reader may want, linked from the report when written (name, what it holds).
FILES = (
    ("summary.csv", "per policy: every KPI's mean and 95% CI, ranked by profit, paired Δ profit"),
    ("paired.csv", "per policy and KPI: the paired difference to the best with its 95% CI"),
    ("episodes.csv", "one row per policy and seed: every KPI, by location and by channel"),
    ("allocation_plan.csv", "the allocation plan: units shipped per period, location and SKU "
                            "(traced episodes)"),
    ("stock_by_location_sku.csv", "per traced episode, location and SKU: stock on hand, its age, demand, "
                                  "units shipped"),
    ("timeseries_network.csv", "per period of the traced episodes: the series of the time figure"),
    ("timeseries.csv", "per period and location of the traced episodes"),
    ("aggregation_gap.csv", "events mode: every KPI in both timing modes, paired"),
    ("holdback_value.csv", "every KPI with and without the holdbacks, paired"),
    ("summary.md", "the ranking as Markdown tables"),
    ("run.json", "settings, seeds and parameters of the run"),
)


#: decimals of the seconds a run records (run.json, and so every rendering of them)
SECONDS_DIGITS = 3


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
    periods: int = 0  # periods the KPIs cover (after any warm-up): money per week = per episode x 7 / periods
    interval: ReferenceInterval | None = None  # best achievable against the tightest bound
    history_bound: Mapping[str, Any] | None = None  # value, prices, note (history_store.history_record)
    #: seconds the command spent before the episodes (imports, one-off compile, bound fits), when known;
    #: ``wall_seconds`` leaves them out
    setup_seconds: float | None = None
    lane_penalty_bound: Mapping[str, Any] | None = None  # value, ci95, seeds (lane_penalty_seeds.lane_record)
    lagrangian_bound: Mapping[str, Any] | None = None  # the same record, from ``rerender --lagrangian``
    #: whether the scenario has contracts; without, the report leaves out ``CONTRACT_KPIS`` (not in run.json)
    contracts: bool = True

    def __post_init__(self) -> None:
        # the seconds as run.json keeps them (SECONDS_DIGITS), so a report and its rerender from run.json
        # print the same tenths even at a rounding edge (1.1504 printed 1.2, its stored 1.15 prints 1.1)
        object.__setattr__(self, "wall_seconds", round(self.wall_seconds, SECONDS_DIGITS))
        if self.setup_seconds is not None:
            object.__setattr__(self, "setup_seconds", round(self.setup_seconds, SECONDS_DIGITS))

    def _setup_words(self) -> str:
        """What the wall time leaves out, with its seconds when the run measured them."""
        if self.setup_seconds is None:
            return "start-up, the one-off compile and bound fits"
        return f"{self.setup_seconds:.1f} s before them for start-up, the one-off compile and bound fits"

    def lines(self) -> list[str]:
        seeds = f"{self.seeds[0]}..{self.seeds[-1]}" if len(self.seeds) > 1 else f"{self.seeds[0]}"
        demand = (f"replayed from {portable(self.demand_csv)}" if self.demand_csv
                  else "sampled from the scenario")
        demand += f"; {self.demand_resample}" if self.demand_resample else ""
        out = [
            f"scenario: {self.scenario}",
            f"episodes per rule: {len(self.seeds)} on seeds {seeds} (common random numbers)",
            f"demand: {demand}",
            f"timing: {TIMING_LINES.get(self.timing, self.timing)}",
            *([f"episode: {self.periods} periods (days), so money per week = per episode x {WEEK} / "
               f"{self.periods}"] if self.periods else []),
            f"wall time: {self.wall_seconds:.1f} s on {self.workers} worker(s) for the episodes, bounds, "
            f"traces and figures (not counted: {self._setup_words()}); created {self.created}",
        ]
        if self.bound_mean is not None:
            out.append(f"clairvoyant bound: {fmt_number(self.bound_mean)} mean profit of a perfect-foresight "
                       "LP per seed, above any policy on every seed")
        if self.penalised_mean is not None:
            out.append(f"penalised bound: {fmt_number(self.penalised_mean)} mean of the same LP with a "
                       "zero-mean sales penalty, an upper bound on the expected profit of any policy")
        if self.history_bound is not None:
            out.append(history_line(self.history_bound))
        if self.lane_penalty_bound is not None:
            out.append(lane_line(self.lane_penalty_bound))
        if self.lagrangian_bound is not None:
            out.append(lagrangian_line(self.lagrangian_bound))
        if self.dp_value is not None:
            out.append(f"DP optimum: {fmt_number(self.dp_value)} expected profit of the optimal policy")
        bound = self.interval.bound if self.interval is not None else None
        found = gap_reference(self.dp_value, bound.mean if bound else None,
                              self.interval.bound_kind if self.interval is not None else None)
        if self.bound_mean is not None and found is not None:
            kind = kind_name(DP_KIND) if found[0] == DP_KIND else f"tightest bound ({kind_label(found[0])})"
            out.append(f"gap reference: the {kind} {fmt_number(found[1])} (gap_to_reference_pct, "
                       "reference gap closed %)")
        if self.interval is not None:
            out.append(f"reference interval: {self.interval.sentence(self.currency)}")
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
    best = SHARE in summary and summary[SHARE].notna().any()
    ref = str(summary["reference"].iloc[0])
    header = ["rank", "policy", f"Δ profit vs {ref}", *(["gap closed %"] if closed else []),
              *(["reference gap closed %"] if tight else []), *(["best gap closed %"] if best else []), *kpis]
    cells = []
    for _, row in summary.iterrows():
        cells.append([
            str(row["rank"]),
            str(row["policy"]) + (" *" if row["pareto"] else ""),
            fmt_ci(row["profit_vs_ref"], row["profit_vs_ref_ci95"]),
            *([fmt_number(row[CLOSED])] if closed else []),
            *([fmt_number(row[REFERENCE_CLOSED])] if tight else []),
            *([fmt_ci(row[SHARE], row[f"{SHARE}_ci95"])] if best else []),
            *[fmt_ci(row[f"{k}_mean"], row[f"{k}_ci95"]) for k in kpis],
        ])
    return header, cells


def all_kpi_rows(summary: pd.DataFrame, contracts: bool = True) -> tuple[list[str], list[list[str]]]:
    """Every scalar KPI as a row, one column per policy (ranked); without ``contracts`` in the scenario
    its contract KPIs read "–" (summary.csv keeps their value)."""
    kpis = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")]
    header = ["KPI", *map(str, summary["policy"])]
    cells = [[k, *(["–"] * len(summary) if k in CONTRACT_KPIS and not contracts else
                   [fmt_ci(m, h) for m, h in zip(summary[f"{k}_mean"], summary[f"{k}_ci95"], strict=True)])]
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
    "against the gap reference (the DP optimum where it exists, else the tightest bound), "
    "`gap closed %` the share of the gap between the best rule and the bound a policy closes (best "
    "rule 0, bound 100) and `reference gap closed %` the same against the gap reference. "
    "The reference interval runs from the best achievable (the DP optimum where it exists, else the "
    "best policy played, of any kind) to the tightest bound; `best gap closed %` is a policy's share "
    "of the gap between the best tuned rule and the best achievable (rule 0, best achievable 100), "
    "with its paired 95% CI."
)


def _params_text(entry: Mapping[str, Any]) -> str:
    params = dict(entry.get("params", {}))
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "no parameters"


def _source(entry: Mapping[str, Any]) -> str:
    return portable(str(entry.get("source", "defaults")))


def summary_markdown(summary: pd.DataFrame, info: RunInfo, rows: Sequence[Row] = ()) -> str:
    """summary.md: the recommendation, run facts, the ranked headline table, every KPI, parameters used."""
    advice = " ".join(recommend(summary, rows, info.periods).sentences(info.currency))
    parts = [f"# Benchmark: {info.scenario}", "", f"**{advice}**", ""]
    parts += [*[f"- {line}" for line in info.lines()], "", NOTE, ""]
    shown = [k for k in HEADLINE if info.contracts or k not in CONTRACT_KPIS]
    parts += ["## Ranked by profit", "", _md_table(*headline_rows(summary, shown)), ""]
    parts += ["## Every KPI", "", _md_table(*all_kpi_rows(summary, info.contracts), right_from=1), ""]
    parts += ["## Parameters", ""]
    for label, entry in info.params.items():
        parts.append(f"- **{label}** ({_source(entry)}): `{_params_text(entry)}`")
    return "\n".join(parts) + "\n"


def run_record(info: RunInfo) -> dict[str, Any]:
    """``run.json``: settings, seeds and parameters of the run, with portable paths."""
    return {
        "scenario": info.scenario,
        "seeds": list(info.seeds),
        "workers": info.workers,
        "warm_up": info.warm_up,
        "periods": info.periods,
        "demand_csv": portable(info.demand_csv) if info.demand_csv else None,
        "demand_resample": info.demand_resample,
        "timing": info.timing,
        "wall_seconds": info.wall_seconds,
        **({"setup_seconds": info.setup_seconds} if info.setup_seconds is not None else {}),
        "created": info.created,
        "policies": {label: {**entry, "source": _source(entry)} for label, entry in info.params.items()},
        "bound_mean": info.bound_mean,
        "penalised_bound_mean": info.penalised_mean,
        "dp_value": info.dp_value,
        "reference_interval": info.interval.record() if info.interval is not None else None,
        "history_bound": dict(info.history_bound) if info.history_bound is not None else None,
        **({"lane_penalty_bound": dict(info.lane_penalty_bound)}
           if info.lane_penalty_bound is not None else {}),
        **({"lagrangian_bound": dict(info.lagrangian_bound)} if info.lagrangian_bound is not None else {}),
    }


def lane_line(record: Mapping[str, Any]) -> str:
    """The report's line on the lane-penalty bound (``rerender --lane-penalty``): its mean and seeds."""
    seeds = record["seeds"]
    prices = "history-priced " if record.get("prices") == "history" else ""
    return (f"lane-penalty bound: {fmt_number(record['value'])} ± {fmt_number(record['ci95'])} mean of "
            f"{seeds['count']:,} seeds ({seeds['first']}..{seeds['last']}), an upper bound on the expected "
            "profit of any policy (perfect information on the DP's grid, penalised by the "
            f"{prices}Lagrangian pieces' value functions)")


def lagrangian_line(record: Mapping[str, Any]) -> str:
    """The report's line on a Lagrangian bound added by ``rerender --lagrangian``: its mean and seeds."""
    seeds = record["seeds"]
    return (f"Lagrangian bound: {fmt_number(record['value'])} ± {fmt_number(record['ci95'])} mean of "
            f"{seeds['count']:,} seeds ({seeds['first']}..{seeds['last']}), an upper bound on the expected "
            "profit of any policy (the DC's units priced per period, each lane solved on its own)")


def history_line(record: Mapping[str, Any]) -> str:
    """The report's line on the history-priced bound: its value and prices, or why the run has none."""
    if record.get("value") is None:
        return f"history-priced bound: skipped, {record.get('note')}"
    return (f"history-priced bound: {fmt_number(record['value'])} exact expectation, the same on every seed "
            f"(DC prices per period and bucket of the demand so far; {record.get('prices')})")


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
    holdback: pd.DataFrame | None = None, stock: pd.DataFrame | None = None,
    files: Sequence[str] = (),
) -> str:
    """One self-contained page: the recommendation, tables, figures as data URIs, glossary, and relative
    links to the run's own files (``files``: those written next to it); no external resources."""
    order = [str(p) for p in summary["policy"]]
    currency = info.currency
    shown = [k for k in (*[c[: -len("_mean")] for c in summary.columns if c.endswith("_mean")],
                         "avg_working_capital", CLOSED, REFERENCE_CLOSED, SHARE)]
    advice = recommend(summary, rows, info.periods)
    stock = stock if stock is not None else pd.DataFrame()
    traced = [p for p in order if not stock.empty and p in set(stock["policy"])]
    return _environment().get_template("report.html.j2").render(
        info=info,
        advice=advice.sentences(currency),
        use=advice.use,
        tie=len(advice.tied) > 1,
        facts=[sections.code_spans(line) for line in info.lines()],
        note=NOTE.replace("`", ""),
        ranked=sections.ranked(summary, currency, info.periods),
        rules=sections.rules(order, {p: (_source(e), _params_text(e)) for p, e in info.params.items()}),
        paired=sections.paired_blocks(paired, order[1:], currency),
        every=sections.every_kpi(rows, order, currency, info.contracts),
        locations=sections.breakdown(rows, order, "by_location", sections.LOCATION_KPIS, currency),
        channels=sections.breakdown(rows, order, "by_channel", sections.CHANNEL_KPIS, currency),
        skus=report_stock.sku_tables(stock, traced),
        ages=report_stock.age_tables(stock, traced),
        traced=traced,
        traced_seeds=int(stock["seed"].nunique()) if not stock.empty else 0,
        figures={name: (title, _b64(png)) for name, (title, png) in images.items()},
        glossary=sections.glossary(shown, currency),
        closed_floor=sections.CLOSED_FLOOR,
        reference=str(summary["reference"].iloc[0]),
        negative_wc=sections.working_capital_note(summary, currency),
        interval=sections.interval_tables(info.interval, order, currency),
        gap=gap_tables(gap, currency) if gap is not None and not gap.empty else None,
        holdback=(kpi_table(holdback, HOLDBACK_NAMES, currency)
                  if holdback is not None and not holdback.empty else None),
        files=[(name, what) for name, what in FILES if name in set(files)],
    )
