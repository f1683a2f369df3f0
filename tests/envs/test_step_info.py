"""The single env's info dict builds ``reward_components`` and ``kpis`` only when read (``StepInfo``),
from a snapshot of its own step: read late, read whole, copied or pickled, it shows the same values
as the step record right after the step."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.step_info import LAZY, StepInfo


def _play(steps: int) -> tuple[list[dict], list[tuple[dict, dict]]]:
    """Infos of ``steps`` steps, and the step record read from the engine right after each."""
    env = AllocationEnv("retail-small")
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    infos, records = [], []
    for _ in range(steps):
        info = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))[4]
        infos.append(info)
        records.append(env.engine.step_record(0))
    env.reset(seed=4)  # a later episode must not change what the old infos show
    return infos, records


def test_infos_read_late_show_their_own_step() -> None:
    infos, records = _play(6)
    assert all(isinstance(info, StepInfo) and info.keys() >= LAZY for info in infos)
    for info, (components, kpis) in zip(infos, records, strict=True):
        assert info["reward_components"] == components and info["kpis"] == kpis
    assert records[0][1] != records[1][1]  # the steps differ, so a shared snapshot would be caught


def test_whole_dict_reads_build_the_lazy_entries() -> None:
    infos, records = _play(2)
    components, kpis = records[1]
    expected = {"period": 1, "decision_log": infos[1]["decision_log"], "reward_components": components,
                "kpis": kpis}
    for read in (dict, lambda i: {**i}, copy.copy, copy.deepcopy, lambda i: pickle.loads(pickle.dumps(i)),
                 lambda i: json.loads(json.dumps(i, default=repr)), lambda i: dict(i.items())):
        fresh = _play(2)[0][1]  # unread until now
        got = read(fresh)
        assert got["kpis"] == kpis and got["reward_components"] == components, read
        assert None not in dict(got).values()
    fresh = _play(2)[0][1]
    assert fresh == expected and "None" not in repr(_play(2)[0][1])
    assert type(copy.deepcopy(fresh)) is dict


def test_decision_log_read_late_shows_its_own_step() -> None:
    """``decision_log`` is built on first read from a copy of its period's log rows: read after the
    episode was reset and replayed with other actions (which rewrites those rows), it still lists the
    trims the engine's log showed right after the step."""
    env = AllocationEnv("retail-medium")
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    infos, logged = [], []
    for _ in range(8):
        info = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))[4]
        infos.append(info)
        logged.append([trim for trim in env.decision_log() if trim.period == info["period"]])
    env.reset(seed=3)
    for _ in range(8):
        env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    assert all(logged)  # random actions trip the capacity and supplier guardrails every period
    for info, trims in zip(infos, logged, strict=True):
        assert info["decision_log"] == trims
    assert [trim for info in infos for trim in info["decision_log"]] != env.decision_log()
