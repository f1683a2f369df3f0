"""The episode as a value: ``get_state`` / ``set_state``, ``copy.deepcopy`` and ``pickle`` on every preset.

A restored (or copied) env replays the same actions into the same future: the same
observations, rewards, per-period infos (period, KPIs, reward components, decision
log), final KPIs and decision log, exactly. Saved states are values: stepping the
env afterwards never changes them.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, field, fields
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from envs_testkit import PRESETS, STYLES, assert_same, make_action
from numpy.typing import NDArray

from allocsim.envs import ENV_ID
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.state import EngineState

Action = NDArray[np.float32]


# ------------------------------------------------------------------------ helpers
def assert_states_equal(a: EngineState, b: EngineState, where: str = "state") -> None:
    """Every array of two engine states equal (shape, dtype and values)."""
    for name, x, y in zip(EngineState._fields, a, b, strict=True):
        assert x.shape == y.shape and x.dtype == y.dtype, f"{where}.{name}: {x.shape} vs {y.shape}"
        assert np.array_equal(x, y), f"{where}.{name} differs"


def assert_views_equal(a: Any, b: Any, where: str = "view") -> None:
    """Two ``AllocationState`` (or ``Decision``) dataclasses equal field by field."""
    for f in fields(a):
        if f.name != "net":
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")


def episode_actions(env: gym.Env[Any, Any], seed: int) -> list[Action]:
    """One action per period, each of a style drawn from ``STYLES`` (clipped, trimmed, held...)."""
    raw: AllocationEnv = env.unwrapped
    rng = np.random.default_rng(seed)
    hold = int(rng.integers(0, raw.network.periods))
    return [make_action(raw, rng, STYLES[int(rng.integers(len(STYLES)))], t, hold)
            for t in range(raw.network.periods)]


@dataclass
class Trace:
    """What an env showed from some period on: per step and at the end."""

    steps: list[tuple[Any, ...]] = field(default_factory=list)
    kpis: dict[str, Any] = field(default_factory=dict)
    decision_log: list[Any] = field(default_factory=list)
    units: tuple[int, int] = (0, 0)


def play(env: gym.Env[Any, Any], actions: list[Action]) -> Trace:
    """Step ``env`` through ``actions`` (to the episode's end), recording everything it shows."""
    trace = Trace()
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trace.steps.append((obs.copy(), reward, terminated, truncated, info))
        if terminated:
            break
    raw: AllocationEnv = env.unwrapped
    trace.kpis, trace.decision_log, trace.units = raw.kpis(), raw.decision_log(), raw.units_accounted()
    assert trace.steps[-1][2], "the actions did not reach the end of the episode"
    return trace


def assert_traces_equal(a: Trace, b: Trace) -> None:
    """Step by step and at the end, exactly."""
    assert len(a.steps) == len(b.steps), f"{len(a.steps)} steps vs {len(b.steps)}"
    for x, y in zip(a.steps, b.steps, strict=True):
        where = f"period {x[4]['period']}"
        assert np.array_equal(x[0], y[0]), f"{where}: observation differs at {np.flatnonzero(x[0] != y[0])}"
        assert_same(x[1:], y[1:], where)
    assert_same(a.kpis, b.kpis, "kpis")
    assert_same(a.decision_log, b.decision_log, "decision_log")
    assert a.units == b.units


def started(preset: str, seed: int, actions: list[Action] | None = None) -> tuple[gym.Env[Any, Any], Action]:
    """``gym.make`` on ``preset``, reset on ``seed`` and stepped through ``actions``; its last obs."""
    env = gym.make(ENV_ID, scenario=preset)
    obs, _ = env.reset(seed=seed)
    for action in actions or []:
        obs = env.step(action)[0]
    return env, obs


def split(env: gym.Env[Any, Any], seed: int) -> tuple[list[Action], list[Action]]:
    """An episode's actions cut a third of the way in."""
    actions = episode_actions(env, seed)
    cut = max(1, len(actions) // 3)
    return actions[:cut], actions[cut:]


# -------------------------------------------------------------- get / set_state
@pytest.mark.parametrize("preset", PRESETS)
def test_set_state_replays_the_same_future(preset: str) -> None:
    """Save a third of the way in, play on; restore and replay (twice): everything identical."""
    env, _ = started(preset, seed=PRESETS.index(preset))
    before, after = split(env, seed=10 + PRESETS.index(preset))
    env, obs_at_save = started(preset, PRESETS.index(preset), before)
    raw: AllocationEnv = env.unwrapped
    saved = raw.get_state()
    pristine = saved.copy()
    view = raw.state
    previews = [raw.preview(after[0], guardrails=g) for g in (True, False)]
    first = play(env, after)
    assert_states_equal(saved, pristine, "saved state after playing on")
    for replay in range(2):
        obs = raw.set_state(saved)
        assert np.array_equal(obs, obs_at_save), f"replay {replay}: set_state returned another observation"
        assert raw.episode_seed == PRESETS.index(preset)
        assert_views_equal(raw.state, view, f"replay {replay}: env.state")
        for g, preview in zip((True, False), previews, strict=True):
            assert_views_equal(raw.preview(after[0], guardrails=g), preview, f"replay {replay}: preview({g})")
        assert_traces_equal(play(env, after), first)
        assert_states_equal(saved, pristine, f"saved state after replay {replay}")


@pytest.mark.parametrize("preset", PRESETS)
def test_saved_state_is_not_aliased(preset: str) -> None:
    """``get_state`` shares no memory with the env: stepping on leaves the saved value alone."""
    env, _ = started(preset, seed=3)
    before, after = split(env, seed=4)
    env, _ = started(preset, 3, before)
    raw: AllocationEnv = env.unwrapped
    saved = raw.get_state()
    pristine = saved.copy()
    for name, mine, live in zip(EngineState._fields, saved, raw.engine.state, strict=True):
        assert not np.shares_memory(mine, live), f"get_state().{name} is a view of the live state"
    for action in after[:3]:
        env.step(action)
    assert_states_equal(saved, pristine)
    raw.set_state(saved)
    for name, mine, live in zip(EngineState._fields, saved, raw.engine.state, strict=True):
        assert not np.shares_memory(mine, live), f"set_state kept {name} of the given state"


# ---------------------------------------------------------- deepcopy and pickle
@pytest.mark.parametrize("when", ["after reset", "mid-episode"])
@pytest.mark.parametrize("preset", PRESETS)
def test_deepcopy_and_pickle_continue_identically(preset: str, when: str) -> None:
    """Copies made by deepcopy / pickle (of the wrapped and the bare env) play on like the original."""
    env, _ = started(preset, seed=21)
    before, after = split(env, seed=22)
    if when == "after reset":
        before, after = [], before + after
    env, _ = started(preset, 21, before)
    clones = [copy.deepcopy(env), pickle.loads(pickle.dumps(env)),
              copy.deepcopy(env.unwrapped), pickle.loads(pickle.dumps(env.unwrapped))]
    # the clones play first: were they sharing anything with the original, it would show below
    traces = [play(clone, after) for clone in clones]
    original = play(env, after)
    for trace in traces:
        assert_traces_equal(trace, original)


@pytest.mark.parametrize("preset", PRESETS)
def test_copies_of_a_finished_episode(preset: str) -> None:
    """Deepcopy / pickle after the last period: same KPIs and log, and stepping is refused."""
    env, _ = started(preset, seed=31)
    env, _ = started(preset, 31, episode_actions(env, 32))
    raw: AllocationEnv = env.unwrapped
    for clone in (copy.deepcopy(raw), pickle.loads(pickle.dumps(raw))):
        assert_same(clone.kpis(), raw.kpis())
        assert_same(clone.decision_log(), raw.decision_log())
        with pytest.raises(RuntimeError, match="reset"):
            clone.step(np.zeros(raw.action_space.shape, dtype=np.float32))


# ------------------------------------------------------- states of other episodes
@pytest.mark.parametrize("preset", PRESETS)
def test_state_from_another_episode_or_env(preset: str) -> None:
    """A state restored into another env (other seed, other period, never reset) or into the same env
    after other episodes plays on exactly like the env it came from."""
    env, _ = started(preset, seed=5)
    before, after = split(env, seed=6)
    source, obs_at_save = started(preset, 5, before)
    saved = source.unwrapped.get_state()
    expected = play(source, after)

    other_actions = episode_actions(env, 7)
    elsewhere, _ = started(preset, 8, other_actions[: len(before) + 2])  # other seed, other period
    source.reset(seed=9)  # the same env, now on another episode
    source.step(after[0])
    fresh = AllocationEnv(preset)  # never reset
    for target in (elsewhere, source, fresh):
        obs = target.unwrapped.set_state(saved)
        assert np.array_equal(obs, obs_at_save)
        assert target.unwrapped.episode_seed == 5
        assert_traces_equal(play(target, after), expected)


@pytest.mark.parametrize("preset", PRESETS)
def test_set_state_at_the_terminal_state(preset: str) -> None:
    """The state after the last period restores the finished episode; a step then raises RuntimeError
    ('the episode is over; call reset() first'), and reset starts afresh."""
    env, _ = started(preset, seed=41)
    actions = episode_actions(env, 42)
    env, _ = started(preset, 41)
    finished = play(env, actions)
    terminal = env.unwrapped.get_state()
    target, _ = started(preset, 43, actions[:2])
    raw: AllocationEnv = target.unwrapped
    obs = raw.set_state(terminal)
    assert np.array_equal(obs, finished.steps[-1][0])
    assert_same(raw.kpis(), finished.kpis)
    assert_same(raw.decision_log(), finished.decision_log)
    assert raw.units_accounted() == finished.units
    with pytest.raises(RuntimeError, match=r"episode is over.*reset"):
        target.step(actions[0])
    with pytest.raises(RuntimeError, match="reset"):
        raw.preview(actions[0])
    assert_states_equal(raw.get_state(), terminal, "state after the refused step")
    # reset starts a new episode as usual, identical to a fresh env's
    target.reset(seed=41)
    assert_traces_equal(play(target, actions), finished)


def test_state_of_another_scenario_is_refused_and_changes_nothing() -> None:
    """A state of another scenario raises ValueError, and the env goes on with its own episode."""
    env, _ = started("tiny-dp", seed=1)
    actions = episode_actions(env, 2)
    env, _ = started("tiny-dp", 1, actions[:3])
    reference, _ = started("tiny-dp", 1, actions[:3])
    raw: AllocationEnv = env.unwrapped
    before = raw.get_state()
    foreign, _ = started("retail-small", 2)
    with pytest.raises(ValueError, match="shape"):
        raw.set_state(foreign.unwrapped.get_state())
    assert raw.episode_seed == 1
    assert_states_equal(raw.get_state(), before, "state after the refused set_state")
    assert_traces_equal(play(env, actions[3:]), play(reference, actions[3:]))


def test_a_vector_copy_continues_in_the_single_env() -> None:
    """Copy i of the vector env, restored into a single env, plays on exactly as copy i does."""
    venv = gym.make_vec(ENV_ID, num_envs=3, scenario="retail-medium")
    single = AllocationEnv("retail-medium")
    venv.reset(seed=500)
    rng = np.random.default_rng(3)
    for _ in range(5):
        venv.step(rng.uniform(-1, 1, venv.action_space.shape).astype(np.float32))
    engine = venv.unwrapped.engine
    obs = single.set_state(engine.state.row(2))
    np.testing.assert_array_equal(obs, engine.obs[2])
    assert single.decision_log() == []  # the vector env keeps no log; the single env's starts empty
    for _ in range(10):
        actions = rng.uniform(-1, 1, venv.action_space.shape).astype(np.float32)
        v_obs, v_rewards, *_ = venv.step(actions)
        s_obs, s_reward, *_ = single.step(actions[2])
        np.testing.assert_array_equal(s_obs, v_obs[2])
        assert s_reward == v_rewards[2]
