"""No process outlives the CLI: ``kill -9`` of a parallel command takes its worker processes with it.

The sweep's kill test (with its exact resume) is in test_sweep.py; here the parallel
evaluation of ``benchmark --workers`` and the ``SubprocVecEnv`` workers of
``train --vec subproc``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

TRAIN_HP = """
default:
  n_timesteps: 1000000
  n_envs: 2
  policy_kwargs: {net_arch: [16]}
  n_steps: 64
  batch_size: 64
  n_epochs: 1
"""


def kill_when_working(
    cmd: list[str], workers: int, process_tree: Any, ready: Path | None = None
) -> set[tuple[int, int]]:
    """Start ``cmd``, wait until ``workers`` processes run below it (and the file ``ready`` exists),
    ``kill -9`` it alone; the processes that were below it and still run 10 s later."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        seen: set[tuple[int, int]] = set()
        while ((len(seen) < workers or (ready and not ready.is_file())) and proc.poll() is None
               and time.monotonic() < deadline):
            seen = process_tree.descendants(proc.pid)
            time.sleep(0.05)
        time.sleep(0.5)  # let them get to work
        seen |= process_tree.descendants(proc.pid)
        assert proc.poll() is None, f"{cmd[3]} ended before it could be killed"
        assert len(seen) >= workers, f"{cmd[3]}: saw {len(seen)} worker processes, expected {workers}"
        proc.kill()
        proc.wait(timeout=30)
        return process_tree.wait_gone(seen, 10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "allocsim.experiments.cli", *args]


def test_killed_benchmark_leaves_no_worker(tmp_path: Path, process_tree: Any) -> None:
    cmd = cli("benchmark", "--scenario", "retail-medium", "--episodes", "400", "--workers", "2",
              "--policies", "proportional,balanced", "--no-bound", "--no-pretrained",
              "--out", str(tmp_path / "out"))
    assert not kill_when_working(cmd, 2, process_tree)


def test_killed_subproc_training_leaves_no_worker(tmp_path: Path, process_tree: Any) -> None:
    hp = tmp_path / "hp.yaml"
    hp.write_text(TRAIN_HP)
    cmd = cli("train", "--scenario", "tiny-dp", "--vec", "subproc", "--n-envs", "2", "--workers", "1",
              "--hyperparams", str(hp), "--eval-episodes", "2", "--eval-every", "128",
              "--out", str(tmp_path / "run"))
    assert not kill_when_working(cmd, 2, process_tree, tmp_path / "run" / "progress.json")
