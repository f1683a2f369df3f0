"""The Lagrangian bound: each lane's DP against brute force, validity against the exact DP, the fit."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocsim.baselines import dp, lagrangian_lanes
from allocsim.baselines.lagrangian_bound import (
    GAP_TOL,
    Split,
    fit_multipliers,
    lagrangian_bound,
    lanes_value,
    refusal,
    seed_pieces,
)
from allocsim.baselines.lagrangian_lanes import Lane, solve_lane
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments import lagrangian_store
from allocsim.experiments.bounds import LAGRANGIAN_SEEDS, bound_report, lagrangian_seeds, tightest

FIT_SEEDS = list(range(19_990, 19_994))


@functools.cache
def env(name: str) -> AllocationEnv:
    return AllocationEnv(name)


@functools.cache
def optimum(name: str) -> float:
    return dp.solution_for(env(name).network, env(name).profile).value


@functools.cache
def fitted(name: str) -> np.ndarray:
    e = env(name)
    return fit_multipliers(e.network, e.profile, FIT_SEEDS).price


# ------------------------------------------------------------- one lane, brute force
def _brute(lane: Lane, price: np.ndarray) -> float:
    """Best expected value by plain recursion over every decision (independent of the compiled DP)."""
    T = lane.pmf.shape[0]

    @functools.cache
    def value(t: int, x: int) -> float:
        if t == T:
            return 0.0
        keep = -lane.holding + (lane.end if t == T - 1 else 0.0)

        def period(y: int, q_next: int) -> float:
            total = 0.0
            for d, p in enumerate(lane.pmf[t]):
                sold = min(y, d)
                total += p * (lane.margin * sold + keep * (y - sold) + value(t + 1, y - sold + q_next))
            return total

        best = -np.inf
        if lane.lead == 0:
            for q in range(lane.cap - x + 1):
                best = max(best, -(price[t] + lane.ship_cost) * q + period(x + q, 0))
            return best
        send = t + 1 - lane.lead
        most = lane.cap - x if t + 1 <= T - 1 and send >= 0 else 0
        for q in range(most + 1):
            cost = (price[send] + lane.ship_cost) * q if q else 0.0
            best = max(best, -cost + period(x, q))
        return best

    return value(0, lane.start) + lane.penalty_constant


def _lane(lead: int, start: int, holding: float = 0.5, end: float = -4.0) -> Lane:
    pmf = np.array([[0.3, 0.4, 0.2, 0.1], [0.1, 0.3, 0.4, 0.2], [0.5, 0.3, 0.2, 0.0], [0.2, 0.2, 0.3, 0.3]])
    mean = float((pmf * np.arange(4)).sum())
    return Lane(loc=0, sku=0, pmf=pmf, cap=4, lead=lead, ship_cost=1.0, holding=holding, margin=19.0, end=end,
                start=start, penalty_constant=-4.0 * mean)


@pytest.mark.parametrize("lead", [0, 1, 2])
@settings(max_examples=15, deadline=None)
@given(price=st.lists(st.floats(0.0, 30.0), min_size=4, max_size=4), start=st.integers(0, 4),
       holding=st.floats(0.0, 3.0), end=st.floats(-10.0, 2.0))
def test_lane_dp_equals_brute_force(lead: int, price: list[float], start: int, holding: float,
                                    end: float) -> None:
    lane = _lane(lead, start, holding, end)
    with patch.object(lagrangian_lanes, "exact_lead_two", lambda lead, cap: False):  # lead 2 relaxed
        value = solve_lane(lane, np.array(price)).value
    assert value == pytest.approx(_brute(lane, np.array(price)), abs=1e-9)


@pytest.mark.parametrize("lead", [0, 1])
@settings(max_examples=15, deadline=None)
@given(a=st.lists(st.floats(0.0, 30.0), min_size=4, max_size=4),
       b=st.lists(st.floats(0.0, 30.0), min_size=4, max_size=4))
def test_lane_value_is_the_best_policy_at_every_price(lead: int, a: list[float], b: list[float]) -> None:
    """The policy optimal at prices ``a``, charged prices ``b``, never beats the optimum at ``b``."""
    lane = _lane(lead, 1)
    at_a = solve_lane(lane, np.array(a))
    assert (at_a.shipped >= 0).all()
    assert solve_lane(lane, np.array(b)).value >= at_a.profit(np.array(a)) - np.array(b) @ at_a.shipped - 1e-9


def _exact_lead_two(lane: Lane, price: np.ndarray) -> float:
    """The lane with its real lead time 2: state (on hand, in transit), capacity counting transit."""
    T = lane.pmf.shape[0]

    @functools.cache
    def value(t: int, x: int, moving: int) -> float:
        if t == T:
            return 0.0
        keep = -lane.holding + (lane.end if t == T - 1 else 0.0)
        best = -np.inf
        for q in range(lane.cap - x - moving + 1):
            lands = t + 2 <= T - 1
            total = -(price[t] + lane.ship_cost) * q + (0.0 if lands else lane.end * q)
            for d, p in enumerate(lane.pmf[t]):
                sold = min(x, d)
                later = value(t + 1, x - sold + moving, q if lands else 0)
                total += p * (lane.margin * sold + keep * (x - sold) + later)
            best = max(best, total)
        return best

    return value(0, lane.start, 0) + lane.penalty_constant


@settings(max_examples=15, deadline=None)
@given(price=st.lists(st.floats(0.0, 30.0), min_size=4, max_size=4), start=st.integers(0, 4))
def test_deciding_a_period_before_arrival_relaxes_a_longer_lead(price: list[float], start: int) -> None:
    """Lead 2 decided one period ahead, at the sending period's price: never below the real lane,
    which the transit-state DP solves exactly."""
    lane, chosen = _lane(2, start), np.array(price)
    exact = _exact_lead_two(lane, chosen)
    with patch.object(lagrangian_lanes, "exact_lead_two", lambda lead, cap: False):
        relaxed = solve_lane(lane, chosen)
    solved = solve_lane(lane, chosen)
    assert relaxed.value >= exact - 1e-9
    assert solved.value == pytest.approx(exact, abs=1e-9)
    assert (solved.shipped >= 0).all() and solved.shipped[2:].sum() == 0.0  # sent at 2, 3: lands after T


def _exact_lead(lane: Lane, price: np.ndarray) -> float:
    """The real lane of any lead time ``d``: state (on hand, the last ``d - 1`` shipments in transit),
    capacity counting every unit in transit; written apart from ``_exact_lead_two``."""
    T, d = lane.pmf.shape[0], lane.lead

    @functools.cache
    def value(t: int, x: int, moving: tuple[int, ...]) -> float:  # moving[0] lands at t + 1
        if t == T:
            return 0.0
        keep = -lane.holding + (lane.end if t == T - 1 else 0.0)
        best = -np.inf
        for q in range(lane.cap - x - sum(moving) + 1):
            lands = t + d <= T - 1
            total = -(price[t] + lane.ship_cost) * q + (0.0 if lands else lane.end * q)
            for k, p in enumerate(lane.pmf[t]):
                sold = min(x, k)
                later = value(t + 1, x - sold + moving[0], (*moving[1:], q if lands else 0))
                total += p * (lane.margin * sold + keep * (x - sold) + later)
            best = max(best, total)
        return best

    return value(0, lane.start, (0,) * (d - 1)) + lane.penalty_constant


@settings(max_examples=15, deadline=None)
@given(price=st.lists(st.floats(0.0, 30.0), min_size=5, max_size=5), start=st.integers(0, 4))
def test_lead_three_decided_two_periods_ahead_lies_between_the_real_lane_and_one_period_ahead(
        price: list[float], start: int) -> None:
    """Lead 3 in the transit-state model: never below the real lane (it decides a period later, its
    capacity counts fewer units in transit), never above the one-period relaxation (which decides
    later still and counts no transit)."""
    base = _lane(3, start)
    pmf = np.vstack([base.pmf, base.pmf[:1]])  # 5 periods: the sends of periods 0 and 1 land
    lane = replace(base, pmf=pmf, penalty_constant=-4.0 * float((pmf * np.arange(4)).sum()))
    chosen = np.array(price)
    exact = _exact_lead(lane, chosen)
    two = solve_lane(lane, chosen)
    with patch.object(lagrangian_lanes, "exact_lead_two", lambda lead, cap: False):
        one = solve_lane(lane, chosen).value
    assert exact - 1e-9 <= two.value <= one + 1e-9
    assert (two.shipped >= 0).all() and two.shipped[2:].sum() == 0.0  # sent at 2, 3, 4: lands after T
    assert _exact_lead(replace(lane, lead=2), chosen) == pytest.approx(_exact_lead_two(replace(lane, lead=2),
                                                                                        chosen), abs=1e-9)


def test_a_lane_ships_nothing_when_units_cost_more_than_they_earn() -> None:
    sol = solve_lane(_lane(1, 0), np.full(4, 100.0))
    assert sol.shipped.sum() == 0.0 and sol.value == pytest.approx(_lane(1, 0).penalty_constant)


# ------------------------------------------------------------- validity against the DP
@pytest.mark.parametrize("price", ["zero", "random", "high"])
def test_any_price_bounds_the_tiny_dp_optimum(price: str) -> None:
    e = env("tiny-dp")
    T, S = e.network.periods, e.network.n_skus
    chosen = {"zero": np.zeros((T, S)), "random": np.random.default_rng(3).uniform(0, 25, (T, S)),
              "high": np.full((T, S), 1e6)}[price]
    bound = lagrangian_bound(e.network, e.profile, chosen, seed=0).bound
    assert bound >= optimum("tiny-dp") - 1e-6


def test_fitted_bound_is_above_the_tiny_dp_optimum_and_below_zero_prices() -> None:
    e = env("tiny-dp")
    bound = lagrangian_bound(e.network, e.profile, fitted("tiny-dp"), seed=0).bound
    zero = lagrangian_bound(e.network, e.profile, np.zeros_like(fitted("tiny-dp")), seed=0).bound
    assert optimum("tiny-dp") - 1e-6 <= bound < zero
    assert bound <= 1.05 * optimum("tiny-dp")  # 3.8 % above when written


@pytest.mark.slow
def test_fitted_bound_is_above_the_small_dp_optimum_on_every_seed() -> None:
    e = env("small-dp")
    lanes = lanes_value(e.network, e.profile, fitted("small-dp"))
    values = [lagrangian_bound(e.network, e.profile, fitted("small-dp"), s, lanes).bound for s in range(5)]
    assert np.ptp(values) == pytest.approx(0.0, abs=1e-9)  # nothing random: fixed lead, one channel
    assert optimum("small-dp") - 1e-6 <= values[0] <= 1.2 * optimum("small-dp")  # 14.4 % when written


def test_fit_closes_its_gap_and_is_deterministic() -> None:
    e = env("tiny-dp")
    first = fit_multipliers(e.network, e.profile, FIT_SEEDS)
    again = fit_multipliers(e.network, e.profile, FIT_SEEDS)
    assert first.fit_bound - first.master <= GAP_TOL * abs(first.fit_bound) + 1e-9
    assert np.array_equal(first.price, again.price) and first.fitted_on == (FIT_SEEDS[0],)


# ------------------------------------------------------------- fallback lanes, refusals
def test_perfect_information_fallback_is_above_the_lane_dp_on_average() -> None:
    """Treating tiny-dp's lanes by the per-seed LP instead: perfect information is worth >= the DP."""
    e = env("tiny-dp")
    split = Split.of(e.network, e.profile)
    price = fitted("tiny-dp")
    dp_part = lanes_value(e.network, e.profile, price)
    as_fallback = Split(dp=(), fallback=tuple((lane.loc, lane.sku) for lane in split.dp))
    dc_only = Split(dp=(), fallback=())
    seeds = range(60)
    gains = [seed_pieces(e.network, e.profile, price, s, as_fallback) - seed_pieces(e.network, e.profile,
                                                                                      price, s, dc_only)
             for s in seeds]
    assert np.mean(gains) >= dp_part - 1e-6


def test_refused_where_locations_share_more_than_the_dc() -> None:
    reason = refusal(env("omnichannel-transfers").network, env("omnichannel-transfers").profile)
    assert reason is not None and "transfers" in reason  # contracts: test_lagrangian_contracts


def test_lanes_with_backorders_go_to_the_fallback() -> None:
    e = env("retail-medium")
    split = Split.of(e.network, e.profile)
    web = e.network.locations.index("web-fc")
    assert {loc for loc, _ in split.fallback} == {web}
    assert len(split.dp) == (e.network.n_locations - 1) * e.network.n_skus and split.random(e.network)


def test_replayed_demand_is_refused() -> None:
    e = env("tiny-dp")
    replayed = replace(e.profile, replay=np.zeros((e.network.periods, 2, 1, 1), dtype=np.int64))
    assert "replayed" in str(refusal(e.network, replayed))


@pytest.mark.parametrize(("penalised", "lagrangian", "kind"), [
    ((122.0, 10.7), (125.9, 0.0), "lagrangian_bound"),  # a lower but noisy mean does not win
    ((122.0, 1.0), (125.9, 0.0), "penalised_bound"),
    ((122.0, float("nan")), (125.9, 3.0), "lagrangian_bound"),  # one seed: no confidence at all
    ((122.0, 1.0), None, "penalised_bound"),
    ((122.0, 1.0), (122.0, 1.0), "penalised_bound"),
])
def test_tightest_bound_is_chosen_by_upper_confidence_limit(
        penalised: tuple[float, float], lagrangian: tuple[float, float] | None, kind: str) -> None:
    chosen, value = tightest(penalised, lagrangian)
    assert chosen == kind and value == (penalised if kind == "penalised_bound" else lagrangian)


@pytest.mark.parametrize(("lane", "kind"), [
    ((123.4, 0.5), "lane_penalty_bound"),  # 123.9 below 124.5 and 125.9
    ((123.4, 2.0), "penalised_bound"),  # 125.4 above the penalised 124.5
    (None, "penalised_bound"),
])
def test_the_lane_penalty_bound_competes_by_the_same_rule(lane: tuple[float, float] | None,
                                                          kind: str) -> None:
    chosen, value = tightest((124.0, 0.5), (125.9, 0.0), lane)
    assert chosen == kind and value == (lane if kind == "lane_penalty_bound" else (124.0, 0.5))


@pytest.mark.parametrize(("history", "kind"), [
    ((123.7, 0.0), "history_bound"),  # exact, below the lane-penalty bound's upper limit 123.9
    ((123.95, 0.0), "lane_penalty_bound"),
    (None, "lane_penalty_bound"),
])
def test_the_history_priced_bound_competes_by_the_same_rule(history: tuple[float, float] | None,
                                                            kind: str) -> None:
    chosen, value = tightest((124.0, 0.5), (125.9, 0.0), (123.4, 0.5), history)
    assert chosen == kind and value == (history if kind == "history_bound" else (123.4, 0.5))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "seeds", "kind"), [("tiny-dp", 30, "lane_penalty_bound"),
                                                     ("small-dp", 4, "lane_penalty_bound")])
def test_every_reported_bound_is_above_the_dp_optimum_per_seed_mean(name: str, seeds: int, kind: str) -> None:
    """``allocsim bound --json``'s document: no seed-mean bound below the DP optimum beyond its CI."""
    report = bound_report(load_scenario(name), list(range(40_000, 40_000 + seeds)), history=True)
    best = optimum(name)
    assert report["dp_value"] == pytest.approx(best)
    for key in ("penalised", "lagrangian", "lane_penalty", "history"):
        assert report[f"{key}_mean"] + report[f"{key}_ci95"] >= best - 1e-6, key
    assert report["tightest_bound"] + report["tightest_bound_ci95"] >= best - 1e-6
    assert report["tightest_bound_kind"] == kind  # tiny-dp: lane-penalty 122.18 (200 seeds), small-dp 350
    assert all(row["lagrangian_bound"] is not None and row["lane_penalty_bound"] is not None
               and row["history_bound"] == pytest.approx(report["history_mean"]) for row in report["bounds"])
    # the lane-penalty bound from the history prices is never above their L on a seed (each piece's
    # penalised path value is at most its value): small-dp's only check of it on real seeds (the
    # per-seed HistoryPenalty in test_lane_penalty_history keeps tiny-dp's 200 and small-dp's differential)
    assert report["lane_penalty_prices"] == "history"
    assert all(row["lane_penalty_bound"] <= row["history_bound"] + 1e-9 for row in report["bounds"])
    if name == "small-dp":  # the document's DP sizes and time (hand-counted grid: 15 x 7 x 8 x 7 x 6)
        assert (report["dp_states"], report["dp_actions"]) == (15 * 7 * 8 * 7 * 6, 8 * 7 * 6)
        assert report["dp_pairs"] >= 1_000_000 and report["dp_seconds"] > 0


def test_a_random_lagrangian_bound_takes_more_seeds_and_an_exact_one_does_not() -> None:
    given = [40_000, 40_001, 40_002]
    assert lagrangian_seeds(load_scenario("tiny-dp"), given) == given  # exact: one value for every seed
    more = lagrangian_seeds(load_scenario("retail-medium"), given)
    assert more[:3] == given and len(more) == LAGRANGIAN_SEEDS and more == list(range(40_000, 40_100))
    assert lagrangian_seeds(load_scenario("omnichannel-transfers"), given) == given  # refused


def test_fitted_prices_are_kept_on_disk_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOCSIM_PENALTY_CACHE", str(tmp_path))
    scenario = load_scenario("tiny-dp")
    monkeypatch.setattr(lagrangian_store, "_FITTED", {})
    assert not lagrangian_store.multipliers_fitted(scenario)
    fitted = lagrangian_store.multipliers_for(scenario)
    assert fitted is not None and lagrangian_store.multipliers_fitted(scenario)
    again = lagrangian_store.load_multipliers(lagrangian_store.multipliers_path(scenario))
    assert again is not None and np.array_equal(again.price, fitted.price) and again.rounds == fitted.rounds
    assert lagrangian_store.multipliers_fitted(load_scenario("omnichannel-transfers"))  # refused: no fit
