"""One-off waits are announced before they happen (issue 24, item 2): the kernels' first compile,
the bound's penalty fit, a training run's start fits."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

import allocsim.envs.engine as engine
from allocsim.envs.scenario import load_scenario
from allocsim.experiments import bounds, penalty_store, waits


def test_an_empty_kernel_cache_is_announced_as_a_one_off_compile(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.setattr(engine, "cache_dir", lambda: tmp_path)
    said: list[str] = []
    assert waits.compile_first(load_scenario("tiny-dp"), said.append)
    assert len(said) == 2 and "compiling the simulator" in said[0] and "once" in said[0]
    assert said[1].startswith("compiled in ")


def test_a_warm_up_slower_than_the_threshold_is_announced_too(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """A cache of another engine version has index files but compiles all the same: the note comes
    once the warm-up has taken COMPILE_NOTE_AFTER seconds."""
    (tmp_path / "kernels.old-1.py312.nbi").write_bytes(b"")
    monkeypatch.setattr(engine, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(waits, "COMPILE_NOTE_AFTER", 0.05)
    monkeypatch.setattr(waits, "_warm", lambda scenario: time.sleep(0.5))
    said: list[str] = []
    assert waits.compile_first(load_scenario("tiny-dp"), said.append)
    assert said[0] == waits.COMPILE_NOTE and said[1].startswith("compiled in ")


def test_a_filled_kernel_cache_says_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "engine_x").mkdir()
    (tmp_path / "engine_x" / "kernels.step-1.py312.nbi").write_bytes(b"")
    monkeypatch.setattr(engine, "cache_dir", lambda: tmp_path)
    said: list[str] = []
    assert not waits.compile_first(load_scenario("tiny-dp"), said.append)
    assert said == []


def test_a_penalty_not_on_disk_is_fitted_first_and_announced(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """The fit (stubbed: the real one takes half a minute) runs before the bar, once, with a message."""
    monkeypatch.setenv("ALLOCSIM_PENALTY_CACHE", str(tmp_path))
    fitted: list[str] = []
    monkeypatch.setattr(bounds, "penalty_for", lambda scenario: fitted.append(scenario.name))
    said: list[str] = []
    assert waits.fit_penalty_first(load_scenario("tiny-dp"), said.append)
    assert fitted == ["tiny-dp"]
    assert "fitting the bound's sales penalty for tiny-dp" in said[0] and "once per scenario" in said[0]
    assert said[1].startswith("penalty fitted in ")


def test_a_penalty_on_disk_is_not_fitted_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALLOCSIM_PENALTY_CACHE", str(tmp_path))
    monkeypatch.setattr(penalty_store, "load_penalty", lambda path: object())
    monkeypatch.setattr(bounds, "penalty_for", lambda scenario: pytest.fail("fitted again"))
    said: list[str] = []
    assert not waits.fit_penalty_first(load_scenario("tiny-dp"), said.append)
    assert said == [f"the bound's sales penalty for tiny-dp: read from the cache in {tmp_path}"]


def test_replayed_demand_has_no_penalty_to_fit_and_says_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    """A demand history gives a zero penalty at once (its demand is not independent across periods):
    no 'up to a few minutes' note, no 'fitted in 0 s' (what a first run with --demand-csv said)."""
    from allocsim.experiments.policy_specs import with_demand_csv

    history = tmp_path / "history.csv"
    rows = "".join(f"{t},widget,store-a,store,2\n{t},widget,store-b,store,1\n" for t in range(8))
    history.write_text("period,sku,location,channel,quantity\n" + rows)
    scenario = with_demand_csv(load_scenario("tiny-dp"), history)
    monkeypatch.setenv("ALLOCSIM_PENALTY_CACHE", str(tmp_path / "cache"))
    said: list[str] = []
    assert not waits.fit_penalty_first(scenario, said.append)
    assert not waits.fit_penalty_first(scenario, said.append)  # kept on disk: still nothing to say
    assert said == []
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    penalty = bounds.penalty_for(scenario)
    assert penalty.note == "replayed demand is not independent across periods"
    assert not penalty.weight.any()


def test_lagrangian_prices_not_on_disk_are_fitted_first_and_announced(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    """tiny-dp's prices fit in about a second: the real fit, then a second call finds them on disk."""
    from allocsim.experiments import lagrangian_store

    monkeypatch.setenv("ALLOCSIM_PENALTY_CACHE", str(tmp_path))
    monkeypatch.setattr(lagrangian_store, "_FITTED", {})
    said: list[str] = []
    assert waits.fit_lagrangian_first(load_scenario("tiny-dp"), said.append)
    assert "fitting the Lagrangian bound's DC prices for tiny-dp" in said[0]
    assert "once per scenario" in said[0]
    assert said[1].startswith("prices fitted in ")
    assert list(tmp_path.glob("*.npz"))
    monkeypatch.setattr(lagrangian_store, "_FITTED", {})
    again: list[str] = []
    assert not waits.fit_lagrangian_first(load_scenario("tiny-dp"), again.append)
    assert again == []


@pytest.mark.slow
def test_training_says_it_searches_a_residual_start_before_learning(tmp_path: Path) -> None:
    from allocsim.agents.residual_search import ResidualStart
    from allocsim.agents.training import train
    from allocsim.experiments.train_cmd import TrainingJob, prepare_training

    config, _, _ = prepare_training(TrainingJob(scenario="retail-small", eval_episodes=2, out=tmp_path / "r"),
                                    load_scenario("retail-small"), 1)
    small = {"n_envs": 2, "n_steps": 8, "batch_size": 8, "n_epochs": 1,
             "residual_start": ResidualStart(episodes=2, rounds=1)}
    config = replace(config, hyperparams=config.hyperparams.model_copy(update=small), timesteps=16)
    notes: list[str] = []
    train(config, on_note=notes.append)
    assert any(n.startswith("residual start: searching") and "once" in n for n in notes), notes


def test_a_long_one_off_wait_says_it_is_still_going() -> None:
    """A one-off wait longer than the heartbeat says "still ..." with the time spent, then stops."""
    import time

    from allocsim.core.heartbeat import with_heartbeat

    lines: list[str] = []
    with_heartbeat(lines.append, "fitting the prices", lambda: time.sleep(0.55), every=0.2)
    count = len(lines)
    assert count >= 2
    assert all(line.startswith("  still fitting the prices (") and line.endswith(" s)") for line in lines)
    time.sleep(0.3)
    assert len(lines) == count  # nothing after the work ended


def test_a_short_wait_says_nothing_more() -> None:
    from allocsim.core.heartbeat import with_heartbeat

    lines: list[str] = []
    with_heartbeat(lines.append, "compiling", lambda: None, every=0.2)
    assert lines == []


def test_slow_first_rule_decisions_are_announced_as_a_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules' kernels load in the parent before workers fork; a first run's compile is said."""
    monkeypatch.setattr(waits, "COMPILE_NOTE_AFTER", 0.05)
    monkeypatch.setattr(waits, "_warm_rules", lambda scenario, specs: time.sleep(0.5))
    said: list[str] = []
    assert waits.warm_rules(load_scenario("tiny-dp"), [], said.append)
    assert said[0] == waits.RULES_NOTE and said[1].startswith("compiled in ")


def test_rules_are_warmed_with_one_decision_each_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each rule set decides once on a reset env; dp (a solve), sp-mpc and learned policies are skipped."""
    from allocsim.baselines import registry
    from allocsim.experiments.evaluation import PolicySpec

    decided: list[str] = []

    class Rule:
        def __init__(self, name: str) -> None:
            self.name = name

        def predict(self, obs: object, deterministic: bool = True) -> tuple[None, None]:
            decided.append(self.name)
            return None, None

    monkeypatch.setattr(registry, "make_policy", lambda name, env, seed=None, **params: Rule(name))
    specs = [PolicySpec("base-stock", {"order_cover_periods": 2.0}), PolicySpec("dp"), PolicySpec("sp-mpc"),
             PolicySpec("learned", label="ppo:x", model="nowhere"), PolicySpec("hold")]
    said: list[str] = []
    waits.warm_rules(load_scenario("tiny-dp"), specs, said.append)
    assert decided == ["base-stock", "hold"]


def test_on_a_first_run_the_rules_compile_is_said_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after the simulator compiled, the rules compile too: said before, not 2 s into it."""
    monkeypatch.setattr(waits, "_warm_rules", lambda scenario, specs: None)
    said: list[str] = []
    assert waits.warm_rules(load_scenario("tiny-dp"), [], said.append, first_run=True)
    assert said[0] == waits.RULES_NOTE and said[1].startswith("compiled in ")
    assert not waits.warm_rules(load_scenario("tiny-dp"), [], said.append) and len(said) == 2


def test_a_first_run_with_prices_on_disk_solves_one_seed_of_the_bound_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After an upgrade the prices are kept but the bound's kernels are new: one seed is solved in this
    process (workers inherit the kernels), said when slow; a later run solves nothing extra."""
    solved: list[tuple[str, list[int], int]] = []

    def solve(scenario: object, seeds: list[int], n_workers: int) -> None:
        solved.append((scenario.name, seeds, n_workers))  # type: ignore[attr-defined]
        time.sleep(0.3)

    monkeypatch.setattr(bounds, "seed_lagrangian", solve)
    said: list[str] = []
    assert not waits.warm_bound(load_scenario("tiny-dp"), 40000, said.append, first_run=False)
    assert solved == [] and said == []
    assert waits.warm_bound(load_scenario("tiny-dp"), 40000, said.append, first_run=True)
    assert solved == [("tiny-dp", [40000], 1)] and said[0] == waits.BOUND_NOTE  # said at once


@pytest.mark.parametrize(("elapsed", "gap"), [(0.0, 3.0), (29.0, 3.0), (45.0, 4.5), (100.0, 10.0),
                                              (1800.0, 10.0)])
def test_a_heartbeat_comes_every_3_s_at_first_and_every_10_s_at_most(elapsed: float, gap: float) -> None:
    """One schedule for every "still ..." line and progress heartbeat: a compile's first minute is never
    silent for over 3-6 s (it was 10 s), a half-hour fit says so every 10 s."""
    from allocsim.core.heartbeat import pause

    assert pause(elapsed) == gap
