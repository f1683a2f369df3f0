"""The benchmark's bar counts every traced episode, so it never stands still for a whole policy's traces."""

from __future__ import annotations

from pathlib import Path

from allocsim.envs.scenario import load_scenario
from allocsim.experiments.benchmark import run_benchmark


def test_the_count_reaches_the_total_one_traced_episode_at_a_time(tmp_path: Path) -> None:
    calls: list[int] = []
    run_benchmark(load_scenario("tiny-dp"), [40000, 40001, 40002], policies=["balanced", "hold"],
                  tuned_dir=tmp_path / "none", bound=False, on_done=calls.append)
    # 2 policies x 3 seeds played, then the 2 leading policies traced on their 3 seeds each
    assert sum(calls) == 2 * 3 + 2 * 3
    assert calls[-6:] == [1] * 6


def test_bounds_count_seed_by_seed_on_two_workers(tmp_path: Path) -> None:
    """Each seed's penalised and Lagrangian bound moves the bar by one (a worker's whole chunk of seeds
    did, and the Lagrangian bounds not at all: 16.7 s at one count in the README walk)."""
    from allocsim.experiments.benchmark import bound_count

    calls: list[int] = []
    seeds = [40000, 40001, 40002, 40003]
    run_benchmark(load_scenario("tiny-dp"), seeds, policies=["balanced"], tuned_dir=tmp_path / "none",
                  n_workers=2, on_done=calls.append)
    played, bounds, traced = 4, 4 + 4, 4  # tiny-dp takes the Lagrangian bound (no refusal)
    assert sum(calls) == played + bounds + traced
    assert calls[-(bounds + traced):] == [1] * (bounds + traced)
    assert bound_count(load_scenario("tiny-dp"), True, 4) == bounds and bound_count(None, False, 4) == 0
