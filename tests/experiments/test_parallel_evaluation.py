"""Evaluation on common random numbers: identical rows whatever the worker count, same demand per seed."""

from __future__ import annotations

import pytest

from allocsim.experiments.evaluation import PolicySpec, evaluate, simulate

SPECS = [PolicySpec("random"), PolicySpec("balanced"), PolicySpec("min-max", {"min_days": 1.0}, "min-max-1")]
SEEDS = list(range(40_000, 40_005))


@pytest.fixture(scope="module")
def serial() -> list[dict]:
    return evaluate("retail-small", SPECS, SEEDS, n_workers=1)


def test_parallel_and_serial_rows_are_identical(serial: list[dict]) -> None:
    parallel = evaluate("retail-small", SPECS, SEEDS, n_workers=2)
    assert parallel == serial


def test_one_row_per_policy_and_seed_in_order(serial: list[dict]) -> None:
    assert [(r["policy"], r["seed"]) for r in serial] == [(s.label, k) for s in SPECS for k in SEEDS]


def test_units_requested_identical_across_policies_per_seed(serial: list[dict]) -> None:
    for seed in SEEDS:
        demand = {r["policy"]: r["units_requested"] for r in serial if r["seed"] == seed}
        assert len(set(demand.values())) == 1, demand
        by_location = {
            r["policy"]: {k: v.get("units_requested") for k, v in r["by_location"].items()}
            for r in serial if r["seed"] == seed
        }
        assert len({tuple(sorted(v.items())) for v in by_location.values()}) == 1


def test_bad_parameters_fail_before_any_episode() -> None:
    with pytest.raises(ValueError, match="min-max"):
        evaluate("tiny-dp", [PolicySpec("min-max", {"min_days": 9.0, "max_days": 2.0})], [1])
    with pytest.raises(ValueError, match="unknown policy"):
        evaluate("tiny-dp", [PolicySpec("nope")], [1])


def test_simulate_keeps_its_json_contract() -> None:
    out = simulate("tiny-dp", "random", 3, 5)
    assert set(out) == {"scenario", "timing", "policy", "params", "episodes", "summary"}
    assert out["params"] == {}  # the defaults unless given (the command passes the tuned ones)
    assert [e["seed"] for e in out["episodes"]] == [5, 6, 7]
    assert "policy" not in out["episodes"][0]
    assert out["summary"]["profit"] == pytest.approx(sum(e["profit"] for e in out["episodes"]) / 3)
