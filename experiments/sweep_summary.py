"""A sweep's summary: per scenario and policy, mean profit and fill rate, and the paired profit
difference against the scenario's best rule: of its rule entries that count as tuned rules (a played
sp-mpc does; random, hold, dp and rollout never), the one with the highest mean profit, as
``registry.best_tuned_rule`` chooses it everywhere.

Cells of one scenario on the same seed face the same demand, so the difference is taken seed by
seed over the seeds both policies finished (``allocsim.experiments.stats.paired_diff``).
"""

from __future__ import annotations

import pandas as pd

from allocsim.baselines.registry import best_tuned_rule
from allocsim.experiments.stats import paired_diff

SUMMARY_COLUMNS = ["scenario", "policy", "kind", "cells", "profit_mean", "fill_rate_mean",
                   "best_rule", "profit_vs_best_rule", "profit_vs_best_rule_ci95"]


def best_rule(part: pd.DataFrame) -> str | None:
    """The best tuned rule entry of ``part`` (one scenario's cells; a rule entry's policy name in
    ``rule_name``) by mean profit; None without one."""
    rules = part[part["kind"] == "rule"]
    if rules.empty:
        return None
    names = dict(zip(rules["policy"].astype(str), rules["rule_name"].astype(str), strict=True))
    return best_tuned_rule(rules.groupby("policy", sort=False)["profit"].mean().to_dict(), names)


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario x policy, in the sweep's order (``SUMMARY_COLUMNS``)."""
    if frame.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = []
    for scenario, part in frame.groupby("scenario", sort=False):
        best = best_rule(part)
        by_seed = part.pivot_table(index="seed", columns="policy", values="profit", aggfunc="first")
        for policy, cells in part.groupby("policy", sort=False):
            gain = half_width = float("nan")
            if best is not None:
                both = by_seed[[policy, best]].dropna()
                estimate = paired_diff(both[policy].to_numpy(), both[best].to_numpy())
                gain, half_width = estimate.mean, estimate.half_width
            rows.append({"scenario": scenario, "policy": policy, "kind": cells["kind"].iloc[0],
                         "cells": len(cells), "profit_mean": float(cells["profit"].mean()),
                         "fill_rate_mean": float(cells["fill_rate"].mean()), "best_rule": best,
                         "profit_vs_best_rule": gain, "profit_vs_best_rule_ci95": half_width})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
