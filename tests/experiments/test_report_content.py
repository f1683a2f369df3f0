"""What the planner reads: the recommendation (tie or significant), paired differences, left-out zero rows,
the bounded gap-closed column, the working-capital note, breakdown tables; and the traces behind the
time figure add up to the episode's KPIs."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from report_fixtures import CHANNELS, LOCATIONS, POLICIES, synthetic_page, synthetic_rows

from allocsim.experiments.comparisons import paired_frame
from allocsim.experiments.plots import off_scale
from allocsim.experiments.recommendation import recommend
from allocsim.experiments.report_sections import _closed, breakdown, every_kpi
from allocsim.experiments.summary import summary_frame


def _advice(profits: dict[str, list[float]], periods: int = 60) -> str:
    rows = [{"policy": p, "seed": s, "profit": v, "fill_rate": 90.0} for p, values in profits.items()
            for s, v in enumerate(values)]
    return " ".join(recommend(summary_frame(rows), rows, periods).sentences("EUR"))


def test_a_significant_lead_is_said_with_its_interval() -> None:
    text = _advice({"base-stock": [100.0, 110.0, 90.0], "min-max": [80.0, 89.0, 71.0]})  # 20, 21, 19 ahead
    assert text.startswith("Use base-stock. It earns 20 EUR per episode (2 EUR per week) more profit than")
    assert "paired 95% CI 18 to 22 EUR" in text and "significant" in text and "tie" not in text


def test_identical_policies_tie_without_a_minus_zero() -> None:
    """Two policies making the same decisions (a searched residual kept by two seeds) earn the same."""
    text = _advice({"ppo:a": [10.0, 20.0, 30.0], "ppo:b": [10.0, 20.0, 30.0], "hold": [0.0, 10.0, 20.0]})
    assert text.startswith("Use ppo:a. On profit it ties with ppo:b") and "-0" not in text
    assert "first policy significantly behind the best is hold" in text


def test_one_episode_claims_nothing() -> None:
    text = _advice({"base-stock": [10.0], "min-max": [6.0]})
    assert text.startswith("Use base-stock for now.") and "no interval" in text
    assert "tie" not in text and "significant" not in text


def test_paired_frame_is_the_seed_by_seed_difference() -> None:
    rows = [{"policy": p, "seed": s, "profit": v} for p, vals in (("a", [10, 20, 30]), ("b", [8, 17, 26]))
            for s, v in zip((1, 2, 3), vals, strict=True)]
    frame = paired_frame(rows, "a", ["profit"]).set_index("policy")
    assert frame.loc["b", "mean"] == pytest.approx(-3.0)  # differences -2, -3, -4: sd 1
    assert frame.loc["b", "ci95"] == pytest.approx(4.302652729911275 * 1.0 / math.sqrt(3))
    assert not frame.loc["b", "tie"] and frame.loc["a", "tie"]  # -3 ± 2.48 excludes 0
    rows += [{"policy": "c", "seed": s, "profit": v} for s, v in zip((1, 2, 3), [9, 22, 26], strict=True)]
    assert paired_frame(rows, "a", ["profit"]).set_index("policy").loc["c", "tie"]  # -1, 2, -4


def test_far_rules_leave_the_zoomed_axes() -> None:
    summary = pd.DataFrame({"policy": list("abcdef"), "profit_mean": [100, 99, 97, 96, 60, -500]})
    assert off_scale(summary) == ["e", "f"]  # gaps 40 and 600 > 5 x median gap 4
    assert off_scale(summary.iloc[:3]) == []


def test_gap_closed_is_bounded_below() -> None:
    assert _closed(-4_777.0) == "< -100" and _closed(-13.5) == "-13.5" and _closed(math.nan) == "n/a"


def test_zero_rows_are_left_out_and_named() -> None:
    rows = synthetic_rows()
    tables = every_kpi(rows, POLICIES, "EUR")
    shown = {r[0].text for t in tables for r in t.rows}
    assert "Profit (EUR)" in shown and "Average working capital (EUR)" in shown
    assert not {"Backorders (units)", "Transfer cost (EUR)", "Write-offs (EUR)"} & shown
    assert "Backorders" in tables[-1].note and "Markdowns" in tables[-1].note


def test_breakdowns_cover_every_place_and_drop_fill_rate_without_demand() -> None:
    rows = synthetic_rows()
    kpis = ("fill_rate", "lost_sales_units", "shipping_cost")
    locations = breakdown(rows, POLICIES, "by_location", kpis, "EUR")
    keys = {(r[0].text, r[1].text) for r in locations[0].rows}
    assert {loc for loc, _ in keys} == set(LOCATIONS)
    assert ("DC", "Fill rate (%)") not in keys and ("DC", "Shipping cost (EUR)") not in keys
    assert ("store-north", "Fill rate (%)") in keys
    channels = breakdown(rows, POLICIES, "by_channel", ("fill_rate",), "EUR")
    assert {r[0].text for r in channels[0].rows} == set(CHANNELS)
    assert [h for t in locations for h in t.header[2:]] == POLICIES  # blocks split the policies, in order
    assert len(locations) >= 2  # twelve policies do not fit one 1,400 px table


def test_page_has_units_glossary_and_working_capital_note() -> None:
    page = synthetic_page()
    assert "Profit (EUR)" in page and "Glossary" in page and "inventory_to_working_capital" in page
    assert "Negative working capital is real here" in page
    assert "&lt; -100" in page
    assert "tuned (packaged)" in page and "defaults" in page


def test_trace_adds_up_to_the_episode_kpis() -> None:
    from allocsim.envs.scenario import load_scenario
    from allocsim.experiments.evaluation import PolicySpec, build_policy, env_for, run_episode
    from allocsim.experiments.traces import trace_episode

    scenario = load_scenario("retail-small")
    trace = trace_episode(scenario, PolicySpec("min-max"), 40_000)
    env = env_for(scenario)
    kpis = run_episode(env, build_policy(PolicySpec("min-max"), env, 40_000), 40_000)
    net = pd.DataFrame(trace.network)
    assert len(net) == scenario.periods
    for key in ("units_requested", "units_fulfilled", "lost_sales_units"):
        assert net[key].sum() == pytest.approx(kpis[key])
    assert net["inventory_value"].mean() == pytest.approx(kpis["avg_inventory_value"])
    wc = kpis["avg_inventory_value"] / kpis["inventory_to_working_capital"]
    assert net["working_capital"].mean() == pytest.approx(wc)
    received, _ = env.units_accounted()  # initial stock + supplier receipts
    initial = sum(scenario.dc.initial_stock.values()) + sum(
        sum(loc.initial_stock.values()) for loc in scenario.locations)
    assert net["supplier_units"].sum() == received - initial
    loc = pd.DataFrame(trace.locations)
    by_location = env.kpis()["by_location"]
    assert set(loc["location"]) == set(by_location)
    for name, figures in by_location.items():  # the period accounts add up to the running totals
        rows = loc[loc["location"] == name]
        assert len(rows) == scenario.periods
        assert rows["inventory_value"].mean() == pytest.approx(figures["avg_inventory_value"])
        for key in ("units_requested", "units_fulfilled", "lost_sales_units"):
            assert rows[key].sum() == pytest.approx(figures.get(key, 0.0))


@pytest.mark.parametrize(("setup", "left_out"), [
    (None, "start-up, the one-off compile and bound fits"),  # a record from before it was measured
    (4.06, "4.1 s before them for start-up, the one-off compile and bound fits"),
])
def test_the_wall_time_names_what_it_leaves_out(setup: float | None, left_out: str) -> None:
    from allocsim.experiments.report import RunInfo

    info = RunInfo(scenario="x", description="", seeds=[1, 2], workers=2, warm_up=0, wall_seconds=12.34,
                   created="2026-12-07T00:00:00", setup_seconds=setup)
    assert (f"wall time: 12.3 s on 2 worker(s) for the episodes, bounds, traces and figures "
            f"(not counted: {left_out}); created 2026-12-07T00:00:00") in info.lines()
