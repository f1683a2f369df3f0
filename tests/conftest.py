"""Shared fixtures (a briefly trained PPO run, its ONNX export), the run's test order and warm-ups."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import pytest

# Fitted penalties and prices of the bounds go to a folder of this test run, not the user's cache.
# The process that makes it removes it at exit. Under pytest-xdist that is the controller (this
# file is loaded before the workers start, and they inherit the variable), so both workers share
# the folder: a penalty one fitted the other reads (files are written atomically) instead of
# fitting it again (the retail-small penalty alone is ~25 s of CPU per fit).
if "ALLOCSIM_PENALTY_CACHE" not in os.environ:
    os.environ["ALLOCSIM_PENALTY_CACHE"] = tempfile.mkdtemp(prefix="allocsim-penalties-")
    atexit.register(shutil.rmtree, os.environ["ALLOCSIM_PENALTY_CACHE"], ignore_errors=True)


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


def _warm_engine() -> None:
    """Compile (or load) the simulator's kernels: one step of retail-small (~30 s on an empty cache)."""
    from allocsim.envs.scenario import load_scenario
    from allocsim.experiments.waits import compile_first

    compile_first(load_scenario("retail-small"), lambda line: None)


def _warm_dp_bounds() -> None:
    """Compile the DP and bound kernels and fit tiny-dp's penalty and prices into this run's folder:
    one seed of ``allocsim bound --history`` on tiny-dp (~30 s on empty caches, no simulator kernel),
    what ``test_every_reported_bound_is_above_the_dp_optimum_per_seed_mean[tiny-dp-...]`` fits."""
    from allocsim.envs.scenario import load_scenario
    from allocsim.experiments.bounds import bound_report

    bound_report(load_scenario("tiny-dp"), [40_000], history=True)


#: One-off work a run pays on empty caches, done once per run under xdist: (name, work, whether a
#: worker that finds another doing it waits for it, the test (node id prefix) whose selection makes
#: it worth doing; "" for always). Nearly every test steps the simulator; the bound warm-up is
#: what the tiny-dp case of the reported-bound test fits anyway (``-m "not slow"`` skips it).
WARM_UPS = (("engine", _warm_engine, True, ""),
            ("dp-bounds", _warm_dp_bounds, False, "tests/baselines/test_lagrangian_bound.py::"
             "test_every_reported_bound_is_above_the_dp_optimum_per_seed_mean[tiny-dp"))


@pytest.fixture(scope="session", autouse=True)
def _warmed_once_per_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Under pytest-xdist, pay each one-off warm-up once per run, the workers starting on different
    ones: on empty caches both workers would otherwise compile the simulator at the same moment
    (~30 s of CPU each), since each one's first test steps it. Kernels go to the shared numba
    cache and fits to the run's penalty folder, where later tests find them. A failed warm-up is
    left to the tests that need it to report."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    from filelock import FileLock, Timeout

    chosen = [w for w in WARM_UPS if any(item.nodeid.startswith(w[3]) for item in request.session.items)]
    root = tmp_path_factory.getbasetemp().parent  # shared by the workers of this run
    first = int(worker[2:]) % len(chosen)
    for name, work, wait, _ in chosen[first:] + chosen[:first]:
        done = root / f"warm-{name}.done"
        try:
            with FileLock(root / f"warm-{name}.lock", timeout=-1 if wait else 0):
                if not done.exists():
                    try:
                        work()
                    except Exception as error:  # the tests that need it fail with the real error
                        warnings.warn(f"warm-up {name} failed: {error}", stacklevel=1)
                    done.touch()
        except Timeout:
            continue  # another worker is on it; tests that need it load it once it is done


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
