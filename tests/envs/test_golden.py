"""The simulator still reproduces the golden results recorded in ``golden/`` (see ``golden/record.py``).

Units must match exactly, money and ratios to 1e-9 relative (``golden.compare``). By default
the first ``DEFAULT_SEEDS`` seeds of every preset x policy cell replay; set
``ALLOCSIM_GOLDEN_FULL=1`` to replay all recorded seeds.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from envs_testkit import cached_env
from golden.compare import REL_TOL, assert_kpis_match, load_golden, recorded_presets
from golden.record import TRACE_POLICY, play_episode, play_trace

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.envs.scenario.scenario import ObservationSpec

DEFAULT_SEEDS = 5
FULL = os.environ.get("ALLOCSIM_GOLDEN_FULL", "") == "1"
PRESETS = recorded_presets()
CELLS = [(preset, policy) for preset in PRESETS for policy in load_golden(preset)["results"]]


def seeds_to_replay(recorded: list[int]) -> list[int]:
    """All recorded seeds under ``ALLOCSIM_GOLDEN_FULL=1``, else the first ``DEFAULT_SEEDS``."""
    return list(recorded) if FULL else list(recorded[:DEFAULT_SEEDS])


def check_scenario_hash(preset: str) -> None:
    """Fail with a clear message when the preset's content or the demand stream changed since golden
    was recorded."""
    stream = load_golden(preset).get("demand_stream", 1)
    if stream != DEMAND_STREAM:
        pytest.fail(f"golden results of {preset!r} were recorded on demand stream {stream}, the simulator "
                    f"draws stream {DEMAND_STREAM}: re-record deliberately (see golden/record.py)",
                    pytrace=False)
    recorded = load_golden(preset)["scenario_hash"]
    current = cached_env(preset).scenario.content_hash()
    if current != recorded:
        pytest.fail(
            f"preset {preset!r} changed since its golden results were recorded (scenario hash "
            f"{recorded} -> {current}); the golden results no longer apply. Re-record deliberately "
            f"with `.venv/bin/python tests/envs/golden/record.py {preset}` from the reference engine.",
            pytrace=False,
        )


def test_golden_files_exist() -> None:
    """Every shipped golden file is present and non-empty (a missing folder would collect no cells)."""
    assert PRESETS, "no golden files in tests/envs/golden"
    assert len(CELLS) >= len(PRESETS)


@pytest.mark.parametrize(("preset", "policy"), CELLS, ids=[f"{p}-{q}" for p, q in CELLS])
def test_kpis_match_golden(preset: str, policy: str) -> None:
    """Each replayed episode's KPI dict matches the recorded one (units exact, money to 1e-9)."""
    check_scenario_hash(preset)
    golden = load_golden(preset)
    env = cached_env(preset)
    expected_by_seed = dict(zip(golden["seeds"], golden["results"][policy], strict=True))
    for seed in seeds_to_replay(golden["seeds"]):
        actual = play_episode(env, policy, seed)
        assert_kpis_match(expected_by_seed[seed], actual, label=f"{preset} / {policy} / seed {seed}")


@pytest.mark.parametrize("preset", PRESETS)
def test_random_trace_matches_golden(preset: str) -> None:
    """The random policy's step rewards (1e-9 relative) and first observations (exact float32) replay.

    The observations recorded are the default layout's: a preset that opts into more blocks
    (``observation:``, appended after the default ones; contracts-scarce's ``known_orders``, checked
    against the rule's state in tests/envs/test_known_orders_observation.py) replays with them off,
    the same network (same content hash) and the same draws."""
    check_scenario_hash(preset)
    golden = load_golden(preset)
    env = cached_env(preset)
    if env.scenario.observation != ObservationSpec():
        env = AllocationEnv(env.scenario.model_copy(update={"observation": ObservationSpec()}))
    for seed, trace in golden["traces"][TRACE_POLICY].items():
        recorded_obs = trace["observations"]
        actual = play_trace(env, TRACE_POLICY, int(seed), obs_steps=len(recorded_obs) - 1)
        where = f"{preset} / {TRACE_POLICY} / seed {seed}"
        assert len(actual["rewards"]) == len(trace["rewards"]), f"{where}: episode length changed"
        for step, (want, got) in enumerate(zip(trace["rewards"], actual["rewards"], strict=True), start=1):
            assert math.isclose(got, want, rel_tol=REL_TOL, abs_tol=1e-6), (
                f"{where}: reward of step {step}: expected {want!r}, got {got!r}"
            )
        assert len(actual["observations"]) == len(recorded_obs), f"{where}: fewer observations"
        for step, (want, got) in enumerate(zip(recorded_obs, actual["observations"], strict=True)):
            want32 = np.asarray(want, dtype=np.float32)
            assert got.dtype == np.float32 and got.shape == want32.shape, (
                f"{where}: observation {step} is {got.dtype}{got.shape}, recorded float32{want32.shape}"
            )
            differ = np.flatnonzero(got != want32)
            assert differ.size == 0, (
                f"{where}: observation {step} (0 = reset) differs at indices {differ[:10].tolist()}: "
                f"expected {want32[differ[:10]].tolist()}, got {got[differ[:10]].tolist()}"
            )
