"""The aggregation gap section: both modes' means, paired differences and ranks, computed by hand."""

from __future__ import annotations

import math

import pytest

from allocsim.envs.scenario import load_scenario
from allocsim.experiments.aggregation_gap import (
    gap_frame,
    gap_tables,
    holdback_frame,
    in_mode,
    without_holdbacks,
)


def _rows(values: dict[str, list[float]]) -> list[dict[str, float | str]]:
    return [{"policy": p, "seed": s, "profit": v, "fill_rate": 90.0}
            for p, vs in values.items() for s, v in zip((7, 8), vs, strict=True)]


def test_gap_frame_pairs_by_seed_and_ranks_each_mode() -> None:
    # events: a = 10, 14 (mean 12), b = 20, 22 (mean 21); aggregated: a = 30, 30, b = 25, 27
    events = _rows({"a": [10.0, 14.0], "b": [20.0, 22.0]})
    aggregated = _rows({"a": [30.0, 30.0], "b": [25.0, 27.0]})
    frame = gap_frame(events, aggregated, kpis=("profit", "fill_rate")).set_index(["policy", "kpi"])
    a, b = frame.loc[("a", "profit")], frame.loc[("b", "profit")]
    assert (a["events"], a["aggregated"], a["difference"]) == (12.0, 30.0, -18.0)  # diffs -20, -16
    # paired t-interval of (-20, -16): sd = 2*sqrt(2), t(0.975, 1) = 12.7062
    assert a["ci95"] == pytest.approx(12.7062 * 2 * math.sqrt(2) / math.sqrt(2), rel=1e-4)
    assert (b["events"], b["aggregated"], b["difference"]) == (21.0, 26.0, -5.0)
    assert (b["events_rank"], b["aggregated_rank"]) == (1, 2)
    assert (a["events_rank"], a["aggregated_rank"]) == (2, 1)
    ranks, table = gap_tables(frame.reset_index(), "EUR")
    assert [row[3].text for row in ranks.rows] == ["1 place(s) lower", "1 place(s) higher"]
    assert ranks.note == "2 of 2 rules change rank between the two models."
    assert len(table.rows) == 4


def test_in_mode_changes_only_the_mode() -> None:
    scenario = load_scenario("strategic-holdback")
    events = in_mode(scenario, "events")
    assert events.timing.mode == "events" and scenario.timing.mode == "aggregated"
    assert events.timing.holdbacks == scenario.timing.holdbacks
    assert in_mode(events, "aggregated") == scenario


def test_holdback_frame_is_with_minus_without() -> None:
    held, free = _rows({"a": [12.0, 14.0]}), _rows({"a": [10.0, 10.0]})
    row = holdback_frame(held, free).set_index("kpi").loc["profit"]
    assert (row["with holdbacks"], row["without"], row["difference"]) == (13.0, 10.0, 3.0)
    scenario = load_scenario("strategic-holdback")
    assert scenario.timing.holdbacks and not without_holdbacks(scenario).timing.holdbacks
