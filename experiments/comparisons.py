"""Paired comparisons against the best rule, KPI by KPI, and the sentence that answers the planner.

Every rule plays the same seeds, so each KPI's difference to the reference is taken seed by
seed (``stats.paired_diff``). A paired 95% interval that contains 0 is a tie.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from allocsim.experiments.evaluation import Row
from allocsim.experiments.kpi_labels import label
from allocsim.experiments.kpis import LOWER_IS_BETTER
from allocsim.experiments.stats import Estimate, paired_diff

#: KPIs compared against the best rule in the report (where present).
COMPARED = ("profit", "fill_rate", "lost_sales_units", "revenue", "holding_cost", "shipping_cost",
            "shortage_penalty", "avg_inventory_value", "avg_age", "writeoff_cost", "markdown_cost")


def paired_frame(rows: Sequence[Row], reference: str, kpis: Sequence[str] = COMPARED) -> pd.DataFrame:
    """One row per policy x KPI: mean paired difference (policy - reference) and its 95% CI.

    ``tie`` is True when the interval contains 0 (or is undefined); the reference's own rows are 0.
    """
    frame = pd.DataFrame([{k: r.get(k) for k in ("policy", "seed", *kpis)} for r in rows])
    kpis = [k for k in kpis if k in frame and frame[k].notna().any()]
    records = []
    for kpi in kpis:
        wide = frame.pivot(index="seed", columns="policy", values=kpi)
        ref = wide[reference].to_numpy(float)
        for policy in dict.fromkeys(frame["policy"]):
            est = paired_diff(wide[policy].to_numpy(float), ref)
            records.append({"policy": policy, "kpi": kpi, "mean": est.mean, "ci95": est.half_width,
                            "low": est.low, "high": est.high, "tie": not est.excludes_zero()})
    return pd.DataFrame(records)


def better(kpi: str, difference: float) -> bool:
    """True when a positive ``difference`` in ``kpi`` is an improvement."""
    return (difference < 0) if kpi in LOWER_IS_BETTER else (difference > 0)


@dataclass(frozen=True)
class Answer:
    """The report's first line: which rule, by how much, and whether it is significant."""

    best: str
    tied: list[str]
    runner_up: str | None
    margin: Estimate | None
    behind: tuple[str, Estimate] | None = None  # the best-ranked policy significantly below the best

    def sentence(self, currency: str) -> str:
        if self.runner_up is None or self.margin is None:
            return f"Use {self.best}: it is the only policy in this benchmark."
        if self.margin.mean == 0 and self.margin.half_width == 0:
            lead = f"Use {self.best}: the same profit as {self.runner_up} on every episode"
        else:
            lead = (f"Use {self.best}: {-self.margin.mean:,.0f} {currency} more profit per episode than "
                    f"{self.runner_up} ({_ci(self.margin, currency)})")
        if not math.isfinite(self.margin.half_width):
            return f"{lead}. Untested: one episode gives no interval; run 2 or more (20 by default) to know."
        if not self.tied:
            return f"{lead}. Significant: the paired interval excludes 0."
        text = (f"{lead}. TIE: not significant, {self.best} and {', '.join(self.tied)} cannot be told apart "
                f"on these episodes (the paired interval contains 0); choose among them on other grounds.")
        if self.behind is not None:
            name, gap = self.behind
            text += (f" The first rule significantly behind is {name}, {-gap.mean:,.0f} {currency} "
                     "per episode "
                     f"({_ci(gap, currency)}).")
        return text


def _ci(m: Estimate, currency: str) -> str:
    """``paired 95% CI 22 to 154 EUR`` of the best's lead, from a difference policy - best."""
    if not math.isfinite(m.half_width):
        return "no interval with one episode"
    return f"paired 95% CI {-m.high:,.0f} to {-m.low:,.0f} {currency}"


def answer(summary: pd.DataFrame) -> Answer:
    """From the ranked summary: the best policy, those tied with it on profit, the runner-up's margin."""
    best = str(summary["policy"].iloc[0])
    if len(summary) < 2:
        return Answer(best, [], None, None)
    second = summary.iloc[1]
    margin = Estimate(float(second["profit_vs_ref"]), float(second["profit_vs_ref_ci95"]), 0)
    diffs = [(str(r["policy"]), Estimate(float(r["profit_vs_ref"]), float(r["profit_vs_ref_ci95"]), 0))
             for _, r in summary.iloc[1:].iterrows()]
    tied = [name for name, d in diffs if not d.excludes_zero()]
    behind = next(((name, d) for name, d in diffs if d.excludes_zero() and d.mean < 0), None)
    return Answer(best, tied, str(second["policy"]), margin, behind)


def describe(kpi: str, currency: str) -> str:
    """``Fill rate (%, higher is better)``."""
    lab = label(kpi)
    arrow = "lower is better" if kpi in LOWER_IS_BETTER else "higher is better"
    unit = lab.unit_in(currency)
    return f"{lab.name} ({unit + ', ' if unit else ''}{arrow})"
