"""The aggregation gap: each policy's KPIs in events and in aggregated mode on the same seeds.

It shows how far the fast (aggregated) model's verdicts carry over to the event model. For
each policy and KPI it gives both means and the paired difference (events - aggregated)
with its 95% CI. It also ranks the policies by profit in each mode. ``benchmark`` adds it
when the scenario runs in events mode: the aggregated twin of each episode is cheap.
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

AGGREGATION_KPIS = ("profit", "fill_rate", "lost_sales_units", "shortage_penalty", "contract_attainment")


def in_mode(scenario: Scenario, mode: str) -> Scenario:
    """``scenario`` with its ``timing.mode`` set to ``mode`` (everything else unchanged)."""
    return scenario.model_copy(update={"timing": scenario.timing.model_copy(update={"mode": mode})})


def gap_frame(events: Sequence[Row], aggregated: Sequence[Row],
              kpis: Sequence[str] = AGGREGATION_KPIS) -> pd.DataFrame:
    """One row per policy x KPI: both modes' means, the paired difference and its CI, ranks by profit."""
    ev = pd.DataFrame([{k: r.get(k) for k in ("policy", "seed", *kpis)} for r in events])
    ag = pd.DataFrame([{k: r.get(k) for k in ("policy", "seed", *kpis)} for r in aggregated])
    kpis = [k for k in kpis if k in ev and ev[k].notna().any()]
    ranks = {mode: frame.groupby("policy", sort=False)["profit"].mean().rank(ascending=False, method="min")
             for mode, frame in (("events", ev), ("aggregated", ag))}
    order = list(ranks["events"].sort_values().index)
    records = []
    for policy in order:
        mine_ev = ev[ev["policy"] == policy].set_index("seed").sort_index()
        mine_ag = ag[ag["policy"] == policy].set_index("seed").loc[mine_ev.index]
        for kpi in kpis:
            a, b = mine_ev[kpi].to_numpy(float), mine_ag[kpi].to_numpy(float)
            diff = paired_diff(a, b)
            records.append({
                "policy": policy, "kpi": kpi, "events": mean_ci(a).mean, "aggregated": mean_ci(b).mean,
                "difference": diff.mean, "ci95": diff.half_width, "low": diff.low, "high": diff.high,
                "tie": not diff.excludes_zero(), "events_rank": int(ranks["events"][policy]),
                "aggregated_rank": int(ranks["aggregated"][policy]),
            })
    return pd.DataFrame(records)


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
    rows = []
    for _, r in frame.iterrows():
        kpi = str(r["kpi"])
        css = "num tie" if r["tie"] else ("num better" if better(kpi, r["difference"]) else "num worse")
        rows.append([Cell(str(r["policy"]), "txt"), Cell(label(kpi).titled(currency), "txt"),
                     Cell(fmt_number(r["aggregated"])), Cell(fmt_number(r["events"])),
                     Cell(fmt_ci(r["difference"], r["ci95"]), css)])
    header = ["policy", "KPI", "aggregated", "events", "Δ events − aggregated (paired 95% CI)"]
    return ranks, HtmlTable(header, rows)
