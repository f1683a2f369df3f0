"""Confidence intervals, paired differences, fill rate and the Pareto front on hand-made numbers."""

from __future__ import annotations

import math

import pytest

from allocsim.experiments.stats import mean_ci, paired_diff, pareto_front
from allocsim.experiments.summary import summary_frame

T_975_DF4 = 2.7764451051977987  # scipy.stats.t.ppf(0.975, 4), also in any t table
T_975_DF2 = 4.302652729911275


def test_mean_ci_matches_the_t_table() -> None:
    est = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    sd = math.sqrt(2.5)  # sum of squares 10 over n - 1 = 4
    assert est.mean == pytest.approx(3.0)
    assert est.half_width == pytest.approx(T_975_DF4 * sd / math.sqrt(5))
    assert est.n == 5 and est.low < 3.0 < est.high


def test_mean_ci_edge_cases() -> None:
    assert math.isnan(mean_ci([]).mean)
    one = mean_ci([7.0])
    assert one.mean == 7.0 and math.isnan(one.half_width)
    assert mean_ci([2.0, 2.0, 2.0]).half_width == 0.0
    assert mean_ci([1.0, float("nan"), 3.0]).n == 2


def test_paired_difference_uses_the_per_seed_differences() -> None:
    a, b = [10.0, 12.0, 14.0], [9.0, 10.0, 11.0]  # differences 1, 2, 3
    est = paired_diff(a, b)
    assert est.mean == pytest.approx(2.0)
    assert est.half_width == pytest.approx(T_975_DF2 * 1.0 / math.sqrt(3))
    assert not est.excludes_zero()  # 2 ± 2.48 straddles 0 with three seeds
    assert paired_diff([3.0, 4.0, 5.0, 6.0], [1.0, 1.5, 2.5, 3.0]).excludes_zero()
    # the shared noise cancels: far tighter than the unpaired intervals
    shared = [100.0, -50.0, 30.0]
    tight = paired_diff([s + d for s, d in zip(shared, [1.0, 2.0, 3.0], strict=True)], shared)
    assert tight.half_width == pytest.approx(est.half_width)
    assert mean_ci(shared).half_width > 10 * tight.half_width
    with pytest.raises(ValueError, match="same length"):
        paired_diff([1.0, 2.0], [1.0])


def test_pareto_front() -> None:
    points = [(90.0, 100.0), (95.0, 80.0), (85.0, 90.0), (95.0, 80.0), (50.0, 200.0)]
    assert pareto_front(points) == [True, True, False, True, True]


def _row(policy: str, seed: int, requested: float, fulfilled: float, profit: float) -> dict[str, object]:
    return {
        "policy": policy, "seed": seed, "fill_rate": 100.0 * fulfilled / requested,
        "units_requested": requested, "units_fulfilled": fulfilled, "profit": profit,
    }


def test_summary_on_hand_made_rows() -> None:
    rows = [
        _row("a", 1, 10, 9, 100.0), _row("a", 2, 20, 18, 110.0), _row("a", 3, 40, 40, 120.0),
        _row("b", 1, 10, 5, 90.0), _row("b", 2, 20, 10, 108.0), _row("b", 3, 40, 20, 116.0),
    ]
    assert rows[0]["fill_rate"] == pytest.approx(90.0)
    summary = summary_frame(rows).set_index("policy")
    assert list(summary.index) == ["a", "b"]  # ranked by profit
    assert summary.loc["a", "rank"] == 1 and summary.loc["a", "reference"] == "a"
    assert summary.loc["a", "fill_rate_mean"] == pytest.approx((90 + 90 + 100) / 3)
    assert summary.loc["b", "fill_rate_mean"] == pytest.approx(50.0)
    assert summary.loc["a", "profit_mean"] == pytest.approx(110.0)
    # b - a per seed: -10, -2, -4 -> mean -16/3; deviations -14/3, 10/3, 4/3 -> squares sum 312/9,
    # variance (n - 1 = 2) 52/3; half width t(0.975, 2) x sd / sqrt(3) = 10.342...
    assert summary.loc["b", "profit_vs_ref"] == pytest.approx(-16 / 3)
    half_width = T_975_DF2 * math.sqrt(52 / 3) / math.sqrt(3)
    assert half_width == pytest.approx(10.3423, abs=1e-4)
    assert summary.loc["b", "profit_vs_ref_ci95"] == pytest.approx(half_width)
    assert summary.loc["a", "profit_vs_ref"] == 0.0 and summary.loc["a", "profit_vs_ref_ci95"] == 0.0
    assert bool(summary.loc["a", "pareto"]) and not bool(summary.loc["b", "pareto"])


def test_summary_against_a_chosen_reference() -> None:
    rows = [_row("a", s, 10, 9, 100.0 + s) for s in range(3)] + [_row("b", s, 10, 8, 90.0) for s in range(3)]
    summary = summary_frame(rows, reference="b").set_index("policy")
    assert summary.loc["a", "profit_vs_ref"] == pytest.approx(11.0)
    with pytest.raises(ValueError, match="reference"):
        summary_frame(rows, reference="c")
