"""The history-priced bound's shipped prices (``experiments.history_prices``): every preset where the bound
applies ships them, they load without pickle and refuse what is not theirs, and the benchmark uses them
(or says in one line that it has none) without fitting. That tiny-dp's shipped prices give the bound of a
fresh fit is tests/experiments/test_bound_cli.py's (``bound --history`` on a copy that ships none)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from allocsim.baselines.lagrangian_history import K
from allocsim.envs.scenario import load_scenario, preset_names
from allocsim.experiments import history_store
from allocsim.experiments.benchmark import run_benchmark, write_outputs
from allocsim.experiments.bound_choice import mean_ci95
from allocsim.experiments.bounds import seed_lagrangian, seed_penalised
from allocsim.experiments.evaluation import env_for
from allocsim.experiments.history_prices import WALK, ShippedPrices, read_prices, shipped_prices, write_prices
from allocsim.experiments.history_store import NO_PRICES, history_refusal
from allocsim.experiments.waits import history_first

ROOT = Path(__file__).resolve().parents[2]
TINY_DP_OPTIMUM = 121.33841087361306  # results/tiny-dp/run.json's dp_value
SHIPPED = {"tiny-dp", "small-dp", "retail-small", "seasonal-aging"}  # where history_refusal is None


def _copy_of_tiny_dp(tmp_path: Path, name: str) -> Path:
    """tiny-dp's world under another name: another content hash, so no shipped prices (and a cache key
    of its own: each test names its copy)."""
    text = (ROOT / "envs" / "presets" / "tiny-dp.yaml").read_text(encoding="utf-8")
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace("name: tiny-dp", f"name: {name}", 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", preset_names())
def test_prices_ship_exactly_where_the_history_bound_applies(name: str) -> None:
    scenario = load_scenario(name)
    prices = shipped_prices(scenario)
    assert (history_refusal(scenario) is None) == (name in SHIPPED)
    assert (prices is not None) == (name in SHIPPED), name
    if prices is not None:
        net = env_for(scenario).network
        assert prices.price.shape == (net.n_skus, net.periods, 2 * K + 1)
        assert prices.scenario == name and prices.scenario_hash == scenario.content_hash()
        assert prices.walk == WALK and len(prices.commit) == 40 and prices.rounds > 0
        assert (prices.price >= 0).all() and prices.fit_bound < prices.flat_bound


def test_the_file_reads_back_and_refuses_bad_prices_and_pickles(tmp_path: Path) -> None:
    prices = ShippedPrices(np.full((1, 2, 9), 0.5), "x", "abc", WALK, "0" * 40, 3, 10.0, 11.0)
    back = read_prices(write_prices(tmp_path / "p.npz", prices))
    assert back is not None and back.rounds == 3 and back.commit == "0" * 40 and back.walk == WALK
    assert np.array_equal(back.price, prices.price) and (back.fit_bound, back.flat_bound) == (10.0, 11.0)
    negative = write_prices(tmp_path / "n.npz", replace(prices, price=-prices.price))
    assert read_prices(negative) is None
    pickled = tmp_path / "o.npz"
    np.savez(pickled, price=np.array([{"a": 1}], dtype=object), walk=np.array(WALK))
    assert read_prices(pickled) is None  # an object array needs pickle: refused, never loaded
    (tmp_path / "cut.npz").write_bytes((tmp_path / "p.npz").read_bytes()[:100])
    assert read_prices(tmp_path / "cut.npz") is None and read_prices(tmp_path / "none.npz") is None


def test_another_content_has_no_shipped_prices(tmp_path: Path) -> None:
    copy = load_scenario(_copy_of_tiny_dp(tmp_path, "tiny-other"))
    assert history_refusal(copy) is None and shipped_prices(copy) is None


def test_a_tiny_dp_benchmark_lists_the_history_bound_and_no_bound_below_the_optimum(tmp_path: Path) -> None:
    scenario, seeds = load_scenario("tiny-dp"), list(range(40000, 40020))
    result = run_benchmark(scenario, seeds, policies=["base-stock"], tuned_dir=None)
    write_outputs(result, tmp_path)
    run = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    value = run["history_bound"]["value"]
    assert run["history_bound"]["note"] is None
    assert "shipped with the package" in run["history_bound"]["prices"]
    assert run["reference_interval"]["tightest_bound_kind"] == "history_bound"
    assert run["reference_interval"]["tightest_bound"] == pytest.approx(value)
    assert f"history-priced bound: {value:,.2f}" in (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert all(r["tightest_bound"] == value for r in result.rows)
    assert run["dp_value"] == pytest.approx(TINY_DP_OPTIMUM, rel=1e-9)
    # every bound the benchmark solved, at its lower 95 % limit, stays at or above the DP optimum
    penalised = [b.penalised for b in seed_penalised(scenario, seeds)[1]]
    lagrangian = [r.bound for r in seed_lagrangian(scenario, seeds)[0]]
    for values in (penalised, lagrangian, [value] * len(seeds)):
        mean, ci = mean_ci95(values)
        assert mean + (0.0 if math.isnan(ci) else ci) >= TINY_DP_OPTIMUM - 1e-9


def test_without_prices_the_benchmark_skips_the_history_bound_in_one_line(tmp_path: Path) -> None:
    copy = load_scenario(_copy_of_tiny_dp(tmp_path, "tiny-unfitted"))
    said: list[str] = []
    assert history_first(copy, said.append)
    assert said == [f"skipping the history-priced bound: {NO_PRICES}"]
    result = run_benchmark(copy, [40000, 40001], policies=["base-stock"], tuned_dir=None)
    assert result.info.history_bound == {"value": None, "prices": None, "note": NO_PRICES}
    assert result.info.interval is not None and result.info.interval.bound_kind != "history_bound"
    assert f"history-priced bound: skipped, {NO_PRICES}" in result.info.lines()
    assert not history_store.history_fitted(copy)  # the benchmark fitted nothing
