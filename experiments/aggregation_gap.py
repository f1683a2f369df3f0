"""The aggregation gap: each policy's KPIs in events and in aggregated mode on the same seeds.

It shows how far the fast (aggregated) model's verdicts carry over to the event model. For
each policy and KPI it gives both means and the paired difference (events - aggregated)
with its 95% CI. It also ranks the policies by profit in each mode. ``benchmark`` adds it
when the scenario runs in events mode: the aggregated twin of each episode is cheap. When
the scenario has holdbacks (static, or decided by the policy), the same rules also run
without them, in the run's mode: what the holdbacks are worth.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from allocsim.envs.scenario import Scenario
from allocsim.experiments.comparisons import better
from allocsim.experiments.evaluation import Row
from allocsim.experiments.kpi_labels import label
from allocsim.experiments.kpis import fmt_ci, fmt_number
from allocsim.experiments.report_sections import Cell, HtmlTable
from allocsim.experiments.stats import mean_ci, paired_diff

MODE_NAMES = ("events", "aggregated")
HOLDBACK_NAMES = ("with holdbacks", "without")
AGGREGATION_KPIS = ("profit", "fill_rate", "lost_sales_units", "shortage_penalty", "contract_attainment")


def in_mode(scenario: Scenario, mode: str) -> Scenario:
    """``scenario`` with its ``timing.mode`` set to ``mode`` (everything else unchanged)."""
    return scenario.model_copy(update={"timing": scenario.timing.model_copy(update={"mode": mode})})


def has_holdbacks(scenario: Scenario) -> bool:
    """Whether ``scenario`` holds stock back: static ``timing.holdbacks`` or the holdback decision."""
    return bool(scenario.timing.holdbacks) or scenario.timing.holdback_decision is not None


def without_holdbacks(scenario: Scenario) -> Scenario:
    """``scenario`` with no holdbacks, static or decided (everything else unchanged)."""
    timing = scenario.timing.model_copy(update={"holdbacks": [], "holdback_decision": None})
    return scenario.model_copy(update={"timing": timing})


def paired_runs(first: Sequence[Row], second: Sequence[Row], names: tuple[str, str],
                kpis: Sequence[str] = AGGREGATION_KPIS) -> pd.DataFrame:
    """One row per policy x KPI of two runs of the same rules on the same seeds: both means (columns
    named by ``names``), the paired difference first - second with its CI, and ranks by profit."""
    one = pd.DataFrame([{k: r.get(k) for k in ("policy", "seed", *kpis)} for r in first])
    two = pd.DataFrame([{k: r.get(k) for k in ("policy", "seed", *kpis)} for r in second])
    kpis = [k for k in kpis if k in one and one[k].notna().any()]
    ranks = [frame.groupby("policy", sort=False)["profit"].mean().rank(ascending=False, method="min")
             for frame in (one, two)]
    records = []
    for policy in ranks[0].sort_values().index:
        mine = one[one["policy"] == policy].set_index("seed").sort_index()
        theirs = two[two["policy"] == policy].set_index("seed").loc[mine.index]
        for kpi in kpis:
            a, b = mine[kpi].to_numpy(float), theirs[kpi].to_numpy(float)
            diff = paired_diff(a, b)
            records.append({
                "policy": policy, "kpi": kpi, names[0]: mean_ci(a).mean, names[1]: mean_ci(b).mean,
                "difference": diff.mean, "ci95": diff.half_width, "low": diff.low, "high": diff.high,
                "tie": not diff.excludes_zero(), f"{names[0]}_rank": int(ranks[0][policy]),
                f"{names[1]}_rank": int(ranks[1][policy]),
            })
    return pd.DataFrame(records)


def gap_frame(events: Sequence[Row], aggregated: Sequence[Row],
              kpis: Sequence[str] = AGGREGATION_KPIS) -> pd.DataFrame:
    """The aggregation gap: ``paired_runs`` of the events run against its aggregated twin."""
    return paired_runs(events, aggregated, MODE_NAMES, kpis)


def holdback_frame(held: Sequence[Row], free: Sequence[Row]) -> pd.DataFrame:
    """What the holdbacks are worth: ``paired_runs`` of the run against the same without holdbacks."""
    return paired_runs(held, free, HOLDBACK_NAMES)


def _moved(places: int) -> str:
    if places == 0:
        return "the same"
    return f"{abs(places)} place(s) {'lower' if places > 0 else 'higher'}"


def gap_tables(frame: pd.DataFrame, currency: str) -> tuple[HtmlTable, HtmlTable]:
    """(ranks by profit in each mode, policy x KPI means and paired differences) for the report."""
    by_policy = frame.drop_duplicates("policy")
    ranks = HtmlTable(["policy", "rank (events)", "rank (aggregated)", "the aggregated model ranks it"], [
        [Cell(str(r["policy"]), "txt"), Cell(str(r["events_rank"])), Cell(str(r["aggregated_rank"])),
         Cell(_moved(int(r["aggregated_rank"]) - int(r["events_rank"])), "txt")]
        for _, r in by_policy.iterrows()
    ])
    moved = int((by_policy["events_rank"] != by_policy["aggregated_rank"]).sum())
    ranks.note = (f"{moved} of {len(by_policy)} rules change rank between the two models." if moved else
                  "The aggregated model ranks the rules as the event model does.")
    return ranks, kpi_table(frame, MODE_NAMES, currency)


def kpi_table(frame: pd.DataFrame, names: tuple[str, str], currency: str) -> HtmlTable:
    """Policy x KPI rows of a ``paired_runs`` frame: the second run, the first, their paired difference."""
    rows = []
    for _, r in frame.iterrows():
        kpi = str(r["kpi"])
        css = "num tie" if r["tie"] else ("num better" if better(kpi, r["difference"]) else "num worse")
        rows.append([Cell(str(r["policy"]), "txt"), Cell(label(kpi).titled(currency), "txt"),
                     Cell(fmt_number(r[names[1]])), Cell(fmt_number(r[names[0]])),
                     Cell(fmt_ci(r["difference"], r["ci95"]), css)])
    header = ["policy", "KPI", names[1], names[0], f"Δ {names[0]} − {names[1]} (paired 95% CI)"]
    return HtmlTable(header, rows)
