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
