"""The single env's one-call ``targets``/``residual`` step (``allocsim.envs.engine.targets_step``) against
the three-call path it replaces (``TargetsMode.fractions`` then ``BatchEngine.run_period``, still the
events mode's), run by a twin env whose ``_step`` is None: the same observations, rewards, infos
(decision log included), states and errors for random actions in both modes, on presets with the
supplier orders in the policy (omnichannel-transfers), the days-of-supply room (seasonal-aging) and a
holdback block (strategic-holdback-decision); a bad action changes nothing; copies step alike. And the
parameters' loops (``order_up_to_loops.target_parameters``) give numpy's clip-and-round bits."""

from __future__ import annotations

import copy
import functools
import pickle

import numpy as np
import pytest
from envs_testkit import assert_same
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from allocsim.core.order_up_to import PLAIN, TargetRanges
from allocsim.envs.action_modes import TargetsMode
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.engine.state import EngineState
from allocsim.envs.engine.targets import COMPILED
from allocsim.envs.engine.targets_step import TargetsStep

PRESETS = ("omnichannel-transfers", "seasonal-aging", "strategic-holdback-decision", "retail-small")
MODES = ("targets", "residual")


@functools.cache
def _pair(preset: str, mode: str) -> tuple[AllocationEnv, AllocationEnv]:
    """An env on the one-call step and its twin on the three-call path (one pair per process)."""
    env, twin = AllocationEnv(preset, action_mode=mode), AllocationEnv(preset, action_mode=mode)
    assert isinstance(env._step, TargetsStep)
    twin._step = None
    return env, twin


def _play(env: AllocationEnv, actions: list[np.ndarray]) -> list[tuple]:
    out = []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs, reward, terminated, truncated, info["decision_log"], info["reward_components"],
                    info["kpis"], info.get("episode_kpis")))
    return out


def _same_state(a: EngineState, b: EngineState) -> None:
    for name, x, y in zip(a._fields, a, b, strict=True):
        assert np.array_equal(x, y), name


def _actions(env: AllocationEnv, n: int, seed: int, spread: float = 1.5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-spread, spread, env.action_space.shape).astype(np.float32) for _ in range(n)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("preset", PRESETS)
def test_whole_episodes_match_the_three_call_path(preset: str, mode: str) -> None:
    env, twin = _pair(preset, mode)
    for e in (env, twin):
        e.reset(seed=7)
    actions = _actions(env, env.network.periods, 3)
    assert_same(_play(env, actions), _play(twin, actions))  # to the last period, episode KPIs included
    _same_state(env.get_state(), twin.get_state())
    assert env.decision_log() == twin.decision_log()


@settings(max_examples=25, deadline=None)
@given(preset=st.sampled_from(PRESETS), mode=st.sampled_from(MODES), seed=st.integers(0, 2**31),
       start=st.integers(0, 20),
       rows=arrays(np.float32, st.tuples(st.integers(1, 4), st.just(1)), elements=st.floats(-3, 3, width=32)))
def test_random_actions_match_the_three_call_path(preset: str, mode: str, seed: int, start: int,
                                                  rows: np.ndarray) -> None:
    """Any period, actions out of range (clipped) and on the bounds, the same on both paths."""
    env, twin = _pair(preset, mode)
    for e in (env, twin):
        e.reset(seed=seed)
    warm = _actions(env, start, seed)
    assert_same(_play(env, warm), _play(twin, warm))
    rng = np.random.default_rng(seed)
    size = env.action_space.shape[0]
    # each row: hypothesis' value on random entries, the rest uniform in [-2, 2]
    actions = [np.where(rng.random(size) < 0.5, row[0], rng.uniform(-2, 2, size)).astype(np.float32)
               for row in rows]
    assert_same(_play(env, actions), _play(twin, actions))
    _same_state(env.get_state(), twin.get_state())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mode", MODES)
def test_a_bad_action_changes_nothing_and_raises_the_three_call_error(mode: str, bad: float) -> None:
    env, twin = _pair("omnichannel-transfers", mode)
    for e in (env, twin):
        e.reset(seed=11)
    actions = _actions(env, 8, 1)
    assert_same(_play(env, actions[:4]), _play(twin, actions[:4]))
    before = env.get_state()
    wrong = actions[4].copy()
    wrong[3] = bad
    message = rf"^action entry 3 is {bad}; actions must be finite$"
    for e in (env, twin):
        with pytest.raises(ValueError, match=message):
            e.step(wrong)
    with pytest.raises(ValueError, match=r"^action has shape \(2,\), expected \(\d+,\)$"):
        env.step(np.zeros(2, dtype=np.float32))
    _same_state(env.get_state(), before)
    assert env._clock is not None and env._clock.now == 4  # the clock waits at the same period
    assert_same(_play(env, actions[4:]), _play(twin, actions[4:]))  # the same future as the twin's


@pytest.mark.parametrize(("mode", "preset"), [(m, "seasonal-aging") for m in MODES]
                         + [("shares", "strategic-holdback-decision")])  # every shares block
def test_restored_copied_and_pickled_envs_step_alike(mode: str, preset: str) -> None:
    """Deep copies, pickles, ``set_state`` and a fresh env restored mid-episode step exactly like the
    original, in every mode's one-call step (``shares``: ``SharesStep``)."""
    env = AllocationEnv(preset, action_mode=mode)
    env.reset(seed=5)
    actions = _actions(env, 12, 2)
    _play(env, actions[:3])
    saved = env.get_state()
    clones = [copy.deepcopy(env), pickle.loads(pickle.dumps(env))]
    expected = _play(env, actions[3:])
    for clone in clones:
        assert_same(_play(clone, actions[3:]), expected)
    env.set_state(saved)
    assert_same(_play(env, actions[3:]), expected)
    other = AllocationEnv(preset, action_mode=mode)  # a fresh env restored mid-episode
    other.reset(seed=99)
    other.set_state(saved)
    assert_same(_play(other, actions[3:]), expected)


def test_the_events_mode_keeps_the_three_call_path() -> None:
    env = AllocationEnv("retail-small", action_mode="targets", timing="events")
    assert env._step is None and isinstance(env.action_mode, TargetsMode)


def _numpy_parameters(ranges: TargetRanges, action: np.ndarray) -> np.ndarray:
    """The decode as numpy wrote it before the loops (clip, then round to the 1/1024 grid)."""
    return np.round(np.clip(ranges.centre + action * ranges.half, ranges.low, ranges.high) * 1024.0) / 1024.0


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 12), batch=st.integers(1, 3))
def test_the_parameter_loops_give_numpys_bits(data: st.DataObject, n: int, batch: int) -> None:
    finite = st.floats(-8, 8, allow_nan=False, width=64)
    # half-grid steps make exact ties (x.5 / 1024), which round to even as numpy.round does
    grid = st.integers(-4096, 4096).map(lambda k: k / 2048.0)
    values = st.one_of(finite, grid)
    centre, half, action = (data.draw(arrays(np.float64, shape, elements=values))
                            for shape in ((n,), (n,), (batch, n)))
    low = data.draw(arrays(np.float64, (n,), elements=st.floats(-4, 0, width=64)))
    high = low + data.draw(arrays(np.float64, (n,), elements=st.floats(0, 4, width=64)))
    ranges = TargetRanges(centre, np.abs(half), low, high)
    expected = _numpy_parameters(ranges, action)
    for arithmetic in (PLAIN, COMPILED):
        got = arithmetic.target_values(ranges, action)
        assert got.tobytes() == expected.tobytes()  # bit for bit, signs of zero included
        assert arithmetic.target_values(ranges, action[0]).tobytes() == expected[0].tobytes()


def test_a_parameter_tie_rounds_to_even() -> None:
    """Hand values: 0.5/1024 and 1.5/1024 sit half-way between grid points; they go to the even one."""
    ranges = TargetRanges(np.zeros(3), np.ones(3), np.full(3, -1.0), np.ones(3))
    got = PLAIN.target_values(ranges, np.array([0.5, 1.5, 2.5]) / 1024)
    assert got.tolist() == [0.0, 2 / 1024, 2 / 1024]
    assert COMPILED.target_values(ranges, np.array([0.5, 1.5, 2.5]) / 1024).tolist() == got.tolist()


def test_a_parameter_action_of_the_wrong_length_is_named() -> None:
    ranges = TargetRanges(np.zeros(3), np.ones(3), np.zeros(3), np.ones(3))
    message = r"^a targets action has 3 entries \(its ranges'\), got shape \(4,\)$"
    with pytest.raises(ValueError, match=message):
        PLAIN.target_values(ranges, np.zeros(4))
