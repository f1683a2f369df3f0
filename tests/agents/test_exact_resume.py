"""A run stopped after a checkpoint and resumed ends bit-identical to one never stopped.

Checkpoints fall mid-episode (8-period episodes, 10-step rollouts of 3 copies), so the
resume must restore the episodes in flight (native batch or subprocess workers), each copy's
place in its seed stream, the random generators, VecNormalize's running returns, the LSTM's
state and SAC's replay buffer (``replay_buffer.npz``, read without pickle).
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from allocsim.agents.algorithms import algorithm
from allocsim.agents.hyperparams import load_hyperparams
from allocsim.agents.runfiles import read_metrics, read_progress
from allocsim.agents.training import SeedCycle, TrainConfig, train
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.experiments.evaluation import run_episode

HYPERPARAMS = {
    "ppo": """
default:
  n_timesteps: 310  # not a whole number of 30-step rollouts: the last one overshoots
  n_envs: 3
  normalize: true
  policy_kwargs: {net_arch: [16, 16], activation_fn: tanh}
  n_steps: 10
  batch_size: 15
  n_epochs: 2
""",
    "recurrent-ppo": """
default:
  n_timesteps: 240
  n_envs: 2
  normalize: true
  policy_kwargs: {net_arch: [16], lstm_hidden_size: 8}
  n_steps: 10
  batch_size: 10
  n_epochs: 1
""",
    "sac": """
default:
  n_timesteps: 120
  n_envs: 1
  normalize: true
  policy_kwargs: {net_arch: [16, 16]}
  buffer_size: 500
  learning_starts: 20
  batch_size: 16
""",
}
EVERY = {"ppo": 60, "recurrent-ppo": 60, "sac": 30}


class Stopped(Exception):
    """Stands for a kill -9 right after a checkpoint was saved."""


def validation(make_policy: Callable[[], Any]) -> dict[str, float]:
    """Stateless: the current policy on two validation seeds."""
    env = AllocationEnv("tiny-dp")
    profits = [run_episode(env, make_policy(), seed)["profit"] for seed in (30_000, 30_001)]
    return {"val_profit": float(np.mean(profits))}


def stop_at(checkpoint: int) -> Callable[[Callable[[], Any]], dict[str, float]]:
    """The validation evaluator, which "dies" when called for the ``checkpoint``-th time (before
    that checkpoint is saved, so the files on disk are those of the one before)."""
    calls = [0]

    def judge(make_policy: Callable[[], Any]) -> dict[str, float]:
        calls[0] += 1
        if calls[0] == checkpoint:
            raise Stopped
        return validation(make_policy)

    return judge


def config(tmp_path: Path, algo: str, vec: str, name: str) -> TrainConfig:
    hp = tmp_path / f"{algo}.yaml"
    hp.write_text(HYPERPARAMS[algo])
    return TrainConfig(scenario="tiny-dp", algo=algo, seed=5,
                       hyperparams=load_hyperparams(algo, "tiny-dp", hp), vectorization=vec,
                       seed_cycle=SeedCycle(20_000, 1_000), out=tmp_path / name, eval_every=EVERY[algo])


def identical(a: Any, b: Any) -> bool:
    """Nested state dicts equal, tensors element for element."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def same_files(a: Path, b: Path, algo: str) -> None:
    cls = algorithm(algo).cls
    ma, mb = (cls.load(run / "model.zip", device="cpu") for run in (a, b))
    assert ma.num_timesteps == mb.num_timesteps
    assert identical(ma.get_parameters(), mb.get_parameters())  # networks and optimizers, bit for bit
    na, nb = (pickle.loads((run / "vecnormalize.pkl").read_bytes()) for run in (a, b))
    for stats in ("obs_rms", "ret_rms"):
        for key in ("mean", "var", "count"):
            assert np.array_equal(getattr(getattr(na, stats), key), getattr(getattr(nb, stats), key))
    drop = {"wall_seconds", "steps_per_second"}  # wall time differs, nothing else may
    rows_a, rows_b = ([{k: v for k, v in r.items() if k not in drop} for r in read_metrics(run)]
                      for run in (a, b))
    assert rows_a == rows_b


@pytest.mark.slow
@pytest.mark.parametrize(("algo", "vec"), [("ppo", "native"), ("ppo", "subproc"), ("recurrent-ppo", "native"),
                                           ("sac", "native")])
def test_resume_after_a_stop_is_bit_identical(tmp_path: Path, algo: str, vec: str) -> None:
    whole = config(tmp_path, algo, vec, "whole")
    train(whole, evaluator=validation)

    stopped = config(tmp_path, algo, vec, "stopped")
    with pytest.raises(Stopped):
        train(stopped, evaluator=stop_at(3))
    assert read_progress(stopped.out)["timesteps"] == 2 * EVERY[algo]  # mid-episode: 8-period episodes
    reported: list[int] = []
    result = train(stopped, resume=True, evaluator=validation, on_progress=reported.append)

    # the bar ends full, at the budget rounded down to whole rollouts
    assert result.timesteps == stopped.planned and sum(reported) == stopped.planned
    same_files(whole.out, stopped.out, algo)
    if algo == "sac":  # the buffer it resumed from is plain arrays (no pickle in a run folder)
        assert (stopped.out / "replay_buffer.npz").is_file()
        assert not (stopped.out / "replay_buffer.pkl").exists()


CLI_HP = """
default:
  n_timesteps: 1536
  n_envs: 4
  normalize: true
  policy_kwargs: {net_arch: [16, 16], activation_fn: tanh}
  n_steps: 32
  batch_size: 64
  n_epochs: 2
"""


@pytest.mark.slow
def test_cli_train_killed_9_then_resumed_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """The issue's case through the real CLI: ``kill -9`` just after a checkpoint, ``--resume``; the
    same parameters, metrics and validation results as a run never killed, and a full progress bar."""
    hp = tmp_path / "hp.yaml"
    hp.write_text(CLI_HP)

    def train_cmd(out: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "allocsim.experiments.cli", "train", "--scenario", "tiny-dp",
                "--seed", "2", "--hyperparams", str(hp), "--eval-every", "256", "--eval-episodes", "2",
                "--rule", "proportional", "--workers", "1", "--out", str(out), *extra]

    subprocess.run(train_cmd(tmp_path / "whole"), check=True, capture_output=True, timeout=900)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = killed / "progress.json"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if progress.is_file() and read_progress(killed)["timesteps"] >= 512:
                proc.kill()  # right after the second checkpoint was written, before the third starts
                break
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    done = read_progress(killed)["timesteps"]
    assert 512 <= done < 1536, "the run was not killed mid-way"
    resumed = subprocess.run(train_cmd(killed, "--resume"), capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    # not on a terminal: plain progress lines on stdout; the last one is at the budget
    assert re.findall(r"([\d,]+)/1,536 steps", resumed.stdout)[-1] == "1,536"
    same_files(tmp_path / "whole", killed, "ppo")
