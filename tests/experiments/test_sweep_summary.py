"""The sweep summary: the best rule per scenario and every policy's paired difference against it."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from allocsim.experiments.sweep_summary import SUMMARY_COLUMNS, summarise


def _cells(scenario: str, policy: str, kind: str, profits: list[float],
           name: str = "base-stock") -> list[dict[str, object]]:
    """Cells as ``sweep.gather`` writes them; ``name`` is a rule entry's registered policy."""
    rule_name = name if kind == "rule" else ""
    return [{"scenario": scenario, "policy": policy, "kind": kind, "rule_name": rule_name, "seed": 100 + k,
             "profit": p, "fill_rate": 90.0 + k} for k, p in enumerate(profits)]


def test_paired_difference_against_the_best_rule_by_hand() -> None:
    frame = pd.DataFrame(_cells("s", "rule-a", "rule", [10, 20, 30])
                         + _cells("s", "rule-b", "rule", [12, 18, 33])
                         + _cells("s", "ppo", "train", [15, 20, 36]))
    rows = summarise(frame).set_index("policy")
    assert list(summarise(frame).columns) == SUMMARY_COLUMNS
    assert set(rows["best_rule"]) == {"rule-b"}  # mean 21 against rule-a's 20
    # ppo - rule-b seed by seed: 3, 2, 3 -> mean 8/3, sd 0.57735, t(0.975, 2) = 4.302653
    assert rows.loc["ppo", "profit_vs_best_rule"] == pytest.approx(8 / 3)
    assert rows.loc["ppo", "profit_vs_best_rule_ci95"] == pytest.approx(4.302653 * 0.57735027 / math.sqrt(3))
    assert rows.loc["rule-a", "profit_vs_best_rule"] == pytest.approx(-1.0)  # -2, 2, -3
    assert rows.loc["rule-b", "profit_vs_best_rule"] == 0.0
    assert rows.loc["ppo", "cells"] == 3 and rows.loc["ppo", "fill_rate_mean"] == pytest.approx(91.0)


def test_pairs_only_the_seeds_both_finished_and_scenarios_apart() -> None:
    """A policy missing a seed is compared on the seeds it has; each scenario has its own best rule."""
    frame = pd.DataFrame(_cells("s", "rule", "rule", [10, 20, 30]) + _cells("s", "ppo", "train", [11, 22])
                         + _cells("t", "other", "rule", [5, 5, 5]))
    rows = summarise(frame).set_index(["scenario", "policy"])
    assert rows.loc[("s", "ppo"), "profit_vs_best_rule"] == pytest.approx(1.5)  # 1, 2 on seeds 100, 101
    assert rows.loc[("t", "other"), "best_rule"] == "other"


def test_without_rules_there_is_no_comparison() -> None:
    rows = summarise(pd.DataFrame(_cells("s", "ppo", "train", [1, 2, 3])))
    assert rows["best_rule"].isna().all() and rows["profit_vs_best_rule"].isna().all()
    assert summarise(pd.DataFrame()).empty


def test_the_best_rule_is_the_best_tuned_rule_entry() -> None:
    """A rule entry of sp-mpc counts (by its policy name, whatever its label); dp, random and hold
    entries are compared against it but never are the best rule, however high their profit."""
    frame = pd.DataFrame(_cells("s", "bs", "rule", [10, 20, 30])
                         + _cells("s", "mpc", "rule", [12, 22, 32], "sp-mpc")
                         + _cells("s", "opt", "rule", [50, 50, 50], "dp")
                         + _cells("s", "lucky", "rule", [60, 60, 60], "random"))
    rows = summarise(frame).set_index("policy")
    assert set(rows["best_rule"]) == {"mpc"}
    assert rows.loc["opt", "profit_vs_best_rule"] == pytest.approx(28.0)  # 38, 28, 18
    only_floors = pd.DataFrame(_cells("s", "h", "rule", [1, 2, 3], "hold")
                               + _cells("s", "p", "train", [1, 2, 3]))
    assert summarise(only_floors)["best_rule"].isna().all()
