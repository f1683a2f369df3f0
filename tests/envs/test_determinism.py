"""Seeding: same seed, same episode (in one process and across processes); common
random numbers: the demand of seed k does not depend on the policy."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from envs_testkit import PRESETS, cached_env, keep_action, make_action, release_action, run_episode

from allocsim.envs.allocation_env import AllocationEnv


def _random_policy(env, action_seed):
    rng = np.random.default_rng(action_seed)
    return lambda t: make_action(env, rng, "uniform", t, 0)


@pytest.mark.parametrize("preset", PRESETS)
def test_same_seed_gives_identical_episodes(preset):
    first_env, second_env = AllocationEnv(preset), AllocationEnv(preset)
    first = run_episode(first_env, 7, _random_policy(first_env, 99))
    second = run_episode(second_env, 7, _random_policy(second_env, 99))
    assert len(first.observations) == len(second.observations) == first_env.network.periods + 1
    for a, b in zip(first.observations, second.observations, strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.rewards == second.rewards
    assert json.dumps(first.kpis, sort_keys=True) == json.dumps(second.kpis, sort_keys=True)
    # and again on the first env: a reset must start from scratch
    third = run_episode(first_env, 7, _random_policy(first_env, 99))
    assert third.rewards == first.rewards
    assert json.dumps(third.kpis, sort_keys=True) == json.dumps(first.kpis, sort_keys=True)


@pytest.mark.parametrize("preset", PRESETS)
def test_different_seeds_give_different_demand(preset):
    env = cached_env(preset)
    keep = keep_action(env)
    a = run_episode(env, 1, lambda t: keep)
    b = run_episode(env, 2, lambda t: keep)
    per_period_a = [i["kpis"]["units_requested"] for i in a.infos]
    per_period_b = [i["kpis"]["units_requested"] for i in b.infos]
    assert per_period_a != per_period_b


@pytest.mark.parametrize("preset", PRESETS)
def test_policies_on_the_same_seed_face_the_same_customers(preset):
    env = cached_env(preset)
    keep = keep_action(env)
    release = release_action(env)
    episodes = [
        run_episode(env, 11, _random_policy(env, 3)),
        run_episode(env, 11, lambda t: keep),
        run_episode(env, 11, lambda t: release),
        run_episode(env, 11, _random_policy(env, 4)),
    ]
    requested = [[i["kpis"]["units_requested"] for i in ep.infos] for ep in episodes]
    assert all(r == requested[0] for r in requested[1:])
    totals = {ep.kpis["units_requested"] for ep in episodes}
    assert len(totals) == 1
    assert totals.pop() == sum(requested[0])
    # the policies did differ: otherwise this test would prove nothing
    assert len({round(ep.kpis["profit"], 6) for ep in episodes}) > 1


SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    from allocsim.envs.allocation_env import AllocationEnv

    def play(preset, seed, action_seed):
        env = AllocationEnv(preset)
        obs, _ = env.reset(seed=seed)
        digest = hashlib.sha256(obs.tobytes())
        rng = np.random.default_rng(action_seed)
        rewards, done = [], False
        while not done:
            action = rng.uniform(-1.0, 1.0, env.action_space.shape).astype(np.float32)
            obs, reward, done, _, _ = env.step(action)
            digest.update(obs.tobytes())
            rewards.append(reward)
        return {"obs": digest.hexdigest(), "rewards": rewards, "kpis": env.kpis()}

    presets = sys.argv[1].split(",")
    print(json.dumps({p: play(p, 5, 17) for p in presets}, sort_keys=True))
    """
)


def _play_here(preset, seed, action_seed):
    env = AllocationEnv(preset)
    obs, _ = env.reset(seed=seed)
    digest = hashlib.sha256(obs.tobytes())
    rng = np.random.default_rng(action_seed)
    rewards, done = [], False
    while not done:
        action = rng.uniform(-1.0, 1.0, env.action_space.shape).astype(np.float32)
        obs, reward, done, _, _ = env.step(action)
        digest.update(obs.tobytes())
        rewards.append(reward)
    return {"obs": digest.hexdigest(), "rewards": rewards, "kpis": env.kpis()}


@pytest.mark.slow
def test_identical_across_processes(tmp_path):
    """Two fresh interpreters with different hash seeds agree with this one, to the bit."""
    here = json.dumps({p: _play_here(p, 5, 17) for p in PRESETS}, sort_keys=True)
    outputs = []
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, ",".join(PRESETS)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.strip())
    assert outputs[0] == here
    assert outputs[1] == here
