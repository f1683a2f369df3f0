"""Fixtures shared across wings: a briefly trained PPO run and its ONNX export."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest


def _penalty_cache() -> str:
    """A folder of this test run for fitted penalties and prices, not the user's cache.

    Under pytest-xdist every worker of one run names the same folder (by the run's id), so a
    penalty or price one worker fitted is read by the other (files are written atomically)
    instead of fitted again: the retail-small penalty alone is ~25 s of CPU per fit.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        return tempfile.mkdtemp(prefix="allocsim-penalties-")
    folder = Path(tempfile.gettempdir()) / f"allocsim-penalties-{run}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return str(folder)


# Fitted penalties of the penalised bound go to a folder of this test run, not the user's cache.
os.environ.setdefault("ALLOCSIM_PENALTY_CACHE", _penalty_cache())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules holding a test marked ``slow`` run first, each kept whole (its fixtures built once).

    ``make test`` splits the tests between two workers with ``--dist worksteal``: a worker that
    runs out takes half of what the other has not started. Long tests at the end leave one
    worker idle while the other finishes them; started first, they are spread by the stealing
    and the run ends on short tests. The order within each group is the collection order.
    """

    def module(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    slow = {module(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: module(item) not in slow)  # stable: False (slow module) first


TINY_PPO = """
default:
  n_timesteps: 256
  n_envs: 1
  policy_kwargs: {net_arch: [32, 32], activation_fn: tanh}
  n_steps: 128
  batch_size: 64
  n_epochs: 1
"""


def train_tiny(tmp: Path, scenario: str) -> Path:
    """A 256-step PPO run on ``scenario`` (real VecNormalize statistics); its run folder."""
    from allocsim.agents.hyperparams import load_hyperparams
    from allocsim.agents.training import SeedCycle, TrainConfig, train

    hp_file = tmp / "hp.yaml"
    hp_file.write_text(TINY_PPO)
    config = TrainConfig(scenario=scenario, algo="ppo", seed=1,
                         hyperparams=load_hyperparams("ppo", scenario, hp_file),
                         seed_cycle=SeedCycle(20000, 100), out=tmp / f"{scenario}-ppo")
    return train(config).run_dir


@pytest.fixture(scope="session")
def retail_small_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``policy.onnx`` exported from a tiny retail-small run."""
    from allocsim.agents.export import export_run

    tmp = tmp_path_factory.mktemp("retail-small-onnx")
    return export_run(train_tiny(tmp, "retail-small"), tmp / "policy.onnx")


@pytest.fixture(scope="session")
def tiny_trainer() -> object:
    """``train_tiny`` for tests that train on other scenarios."""
    return train_tiny


@pytest.fixture(scope="session")
def tiny_ppo_yaml() -> str:
    """A PPO hyperparameter file small enough for tests (256 steps)."""
    return TINY_PPO


class ProcessTree:
    """Processes below a pid, read from ``/proc`` (Linux), for kill tests that look for leftovers."""

    @staticmethod
    def _stat(pid: int) -> tuple[str, int, int] | None:
        """(state, parent pid, start time) of ``pid``; None when it does not exist."""
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = text[text.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
        return fields[0], int(fields[1]), int(fields[19])

    def descendants(self, root: int) -> set[tuple[int, int]]:
        """(pid, start time) of every living process below ``root``."""
        children: dict[int, list[tuple[int, int]]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (stat := self._stat(int(entry.name))) and stat[0] != "Z":
                children.setdefault(stat[1], []).append((int(entry.name), stat[2]))
        found, todo = set(), [root]
        while todo:
            for child in children.get(todo.pop(), []):
                found.add(child)
                todo.append(child[0])
        return found

    def alive(self, processes: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """Those of ``processes`` still running (a zombie or a reused pid counts as gone)."""
        out = set()
        for pid, start in processes:
            stat = self._stat(pid)
            if stat is not None and stat[0] != "Z" and stat[2] == start:
                out.add((pid, start))
        return out

    def wait_gone(self, processes: set[tuple[int, int]], seconds: float) -> set[tuple[int, int]]:
        """Poll until none of ``processes`` runs or ``seconds`` pass; those still running."""
        deadline = time.monotonic() + seconds
        while (left := self.alive(processes)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left


@pytest.fixture(scope="session")
def process_tree() -> ProcessTree:
    if not Path("/proc/self/stat").is_file():
        pytest.skip("needs /proc (Linux)")
    return ProcessTree()
