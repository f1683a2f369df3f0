"""Re-rendering a stored benchmark names the best tuned rule by the one definition: a hand-made profits
table where sp-mpc has the highest mean of the tuned rules, and the same table without sp-mpc."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import _row

from allocsim.envs.scenario import load_scenario
from allocsim.experiments.history_prices import shipped_prices
from allocsim.experiments.reference_interval import SHARE
from allocsim.experiments.rerender import rerender, unflatten
from allocsim.experiments.summary import episodes_frame

SEEDS = [40000, 40001, 40002]
#: Per seed; means: base-stock 110, min-max 109.33, sp-mpc 113, ppo-seed0 114, random 50.
PROFITS = {"base-stock": [100.0, 110.0, 120.0], "min-max": [98.0, 109.0, 121.0],
           "sp-mpc": [102.0, 113.0, 124.0], "ppo-seed0": [104.0, 112.0, 126.0], "random": [50.0, 50.0, 50.0]}
BOUND = 123.0  # the clairvoyant bound on every seed


def _stored(folder: Path, profits: dict[str, list[float]]) -> Path:
    """A benchmark folder as ``write_outputs`` leaves it (episodes and run record), KPIs by hand."""
    rng = np.random.default_rng(0)
    rows = []
    for rank, (policy, values) in enumerate(profits.items()):
        for seed, profit in zip(SEEDS, values, strict=True):
            row = _row(policy, rank, seed, rng)
            gap = 100 * (BOUND - profit) / BOUND
            row.update(profit=profit, reward=profit, bound=BOUND, gap_to_bound_pct=gap)
            rows.append(row)
    folder.mkdir(parents=True)
    episodes_frame(rows).to_parquet(folder / "episodes.parquet", index=False)
    run = {"scenario": "retail-small", "seeds": SEEDS, "workers": 1, "warm_up": 0, "periods": 60,
           "wall_seconds": 1.0, "created": "2026-12-07T00:00:00", "timing": "aggregated",
           "policies": {p: {"params": {}, "source": "defaults"} for p in profits if p != "ppo-seed0"},
           "bound_mean": BOUND, "penalised_bound_mean": None, "dp_value": None, "reference_interval": None}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


def test_a_played_sp_mpc_with_the_highest_mean_is_reported_as_the_best_tuned_rule(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", PROFITS)
    assert [p.name for p in rerender(folder)] == ["summary.csv", "summary.md", "report.html", "run.json"]
    assert "best tuned rule sp-mpc 113.00" in (folder / "summary.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert '<td class="txt">best tuned rule</td><td class="txt">sp-mpc</td>' in page
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))["reference_interval"]
    assert record["best_rule"] == "sp-mpc" and record["best_achievable_policy"] == "ppo-seed0"
    summary = pd.read_csv(folder / "summary.csv").set_index("policy")
    # rule -> best achievable: 114 - 113 = 1; rule -> bound: 123 - 113 = 10
    assert summary[SHARE].to_dict() == pytest.approx(
        {"ppo-seed0": 100.0, "sp-mpc": 0.0, "base-stock": -300.0, "min-max": -100 * 11 / 3,
         "random": -6300.0})
    assert summary.loc["base-stock", "bound_gap_closed_pct"] == pytest.approx(-30.0)


def test_without_sp_mpc_the_best_of_the_rule_sets(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", {k: v for k, v in PROFITS.items() if k != "sp-mpc"})
    rerender(folder)
    assert "best tuned rule base-stock 110.00" in (folder / "summary.md").read_text(encoding="utf-8")
    summary = pd.read_csv(folder / "summary.csv").set_index("policy")
    # rule -> best achievable: 114 - 110 = 4
    assert summary.loc["min-max", SHARE] == pytest.approx(100 * (-2 / 3) / 4)
    assert summary.loc["ppo-seed0", SHARE] == pytest.approx(100.0)


def test_unflatten_restores_the_breakdowns() -> None:
    flat = {"policy": "a", "profit": 1.0, "by_location.north.fill_rate": 90.0,
            "by_location.dc.fill_rate": 0.0, "by_channel.store.revenue": 5.0}
    assert unflatten(flat) == {"policy": "a", "profit": 1.0,
                               "by_location": {"north": {"fill_rate": 90.0}, "dc": {"fill_rate": 0.0}},
                               "by_channel": {"store": {"revenue": 5.0}}}


def _with_bounds(folder: Path, tightest: float) -> None:
    """The stored run as a benchmark with bounds writes it: penalised and tightest (Lagrangian) bound per
    row, the gap against the tightest (no DP on retail-small)."""
    episodes = pd.read_parquet(folder / "episodes.parquet")
    at = int(episodes.columns.get_loc("gap_to_bound_pct")) + 1
    episodes.insert(at, "penalised_bound", tightest + 1.0)
    episodes.insert(at + 1, "tightest_bound", tightest)
    episodes.insert(at + 2, "gap_to_reference_pct", 100 * (tightest - episodes["profit"]) / tightest)
    episodes.to_parquet(folder / "episodes.parquet", index=False)
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    run["reference_interval"] = {"tightest_bound_kind": "lagrangian_bound"}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")


def test_rerender_history_adds_the_shipped_bound_where_it_is_the_tightest(tmp_path: Path) -> None:
    """retail-small ships its history prices: the bound the file recorded when it was fitted (47,711.87)
    replaces a stored tightest bound above it, the gaps follow by hand, and a plain re-render keeps it."""
    shipped = shipped_prices(load_scenario("retail-small"))
    assert shipped is not None
    folder = _stored(tmp_path / "run", PROFITS)
    _with_bounds(folder, 50_000.0)
    said: list[str] = []
    written = rerender(folder, history=True, say=said.append)
    assert [p.name for p in written[:2]] == ["episodes.parquet", "episodes.csv"]
    assert said == [f"{folder}: tightest bound: history-priced {shipped.fit_bound:,.2f} "
                    "(was Lagrangian 50,000.00)"]
    episodes = pd.read_csv(folder / "episodes.csv")
    value = episodes["tightest_bound"].iloc[0]
    assert value == pytest.approx(shipped.fit_bound, rel=1e-9) and episodes["tightest_bound"].nunique() == 1
    assert episodes["gap_to_reference_pct"].to_numpy() == pytest.approx(
        (100 * (value - episodes["profit"]) / value).to_numpy())
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["history_bound"]["value"] == pytest.approx(value) and run["history_bound"]["note"] is None
    assert run["reference_interval"]["tightest_bound_kind"] == "history_bound"
    assert run["reference_interval"]["tightest_bound"] == pytest.approx(value)
    before = (folder / "summary.csv").read_text(encoding="utf-8")
    rerender(folder)
    assert (folder / "summary.csv").read_text(encoding="utf-8") == before


def test_rerender_history_keeps_a_tighter_stored_bound(tmp_path: Path) -> None:
    folder = _stored(tmp_path / "run", PROFITS)
    _with_bounds(folder, 130.0)  # far below retail-small's history bound
    before = (folder / "episodes.parquet").read_bytes()
    said: list[str] = []
    written = rerender(folder, history=True, say=said.append)
    assert written[0].name == "summary.csv"  # no episode file rewritten
    assert said[0].endswith("is not tighter than the stored Lagrangian bound")
    assert (folder / "episodes.parquet").read_bytes() == before
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert run["reference_interval"]["tightest_bound_kind"] == "lagrangian_bound"
    assert run["history_bound"]["value"] == pytest.approx(47_711.87, abs=0.01)
