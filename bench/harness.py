"""The one harness every bench script uses: budgets, timing loops, the peer, targets and JSON.

A script measures with ``Budget`` (``FULL`` or ``QUICK``), times whole episodes with
``timed_episode`` / ``EpisodeTimer`` (step time only, garbage collector off), compares
against the peer (gym-invmgmt, ``make_peer``) in rounds alternated by ``alternated``,
judges its targets with ``target`` and writes its figures with ``write_results`` to
``bench/results/<script>.json`` (atomically: a reader never sees half a file).
The scripts import it as ``harness`` (their folder is on ``sys.path``).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

#: Where every script writes its figures (one JSON file per script).
RESULTS = Path(__file__).resolve().parent / "results"
PEER_ID = "GymInvMgmt/MultiEchelon-v0"
REFERENCE_PRESET = "retail-medium"
ACTION_ROWS = 512  # pre-sampled single-env actions, used in a cycle


@dataclass(frozen=True)
class Budget:
    """How long to measure; each figure is the median of ``repeats`` rounds."""

    repeats: int
    min_episodes: int  # per round: at least this many whole episodes ...
    min_seconds: float  # ... and at least this much step time
    vector_seconds: float  # per vector figure: no new round once this much time is spent (>= 1 round)
    resets: int  # reset calls timed ...
    reset_seconds: float  # ... stopping early past this (at least 20)
    memory_steps: int  # single-env steps of an RSS growth run
    ppo_rollouts: int  # PPO rollouts of a PPO run


FULL = Budget(repeats=5, min_episodes=1, min_seconds=0.5, vector_seconds=8.0, resets=300, reset_seconds=1.0,
              memory_steps=1_000_000, ppo_rollouts=4)
QUICK = Budget(repeats=3, min_episodes=1, min_seconds=0.15, vector_seconds=2.0, resets=60, reset_seconds=0.3,
               memory_steps=100_000, ppo_rollouts=2)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collect once, then keep the garbage collector off for the timed block."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def sample_actions(space: gym.Space[Any], seed: int, rows: int = ACTION_ROWS) -> NDArray[Any]:
    """``rows`` random actions of ``space``, drawn before any timing."""
    space.seed(seed)
    return np.stack([np.asarray(space.sample()) for _ in range(rows)])


def timed_episode(env: gym.Env[Any, Any], actions: NDArray[Any], k: int, seed: int) -> tuple[int, float]:
    """Reset ``env`` on ``seed`` and play one whole episode with ``actions[k % rows]`` onwards.

    Returns the action index after it and the seconds spent in ``step`` (reset not counted).
    """
    step, rows = env.step, len(actions)
    env.reset(seed=seed)
    done = False
    start = time.perf_counter()
    while not done:
        _, _, terminated, truncated, _ = step(actions[k % rows])
        k += 1
        done = terminated or truncated
    return k, time.perf_counter() - start


class EpisodeTimer:
    """Whole episodes of one single env under pre-sampled actions; times ``step`` only.

    The first episode is played untimed (first-call costs stay out of the figures); each
    episode starts on a new seed.
    """

    def __init__(self, env: gym.Env[Any, Any], seed: int = 0) -> None:
        import warnings

        self.env = env
        self.actions = sample_actions(env.action_space, seed)
        self.seed = seed
        self.k = 0  # steps taken, walks the actions
        self.episodes = 0
        with warnings.catch_warnings():  # the checker wrappers warn on first calls only
            warnings.simplefilter("ignore")
            self.play(1)

    def play(self, min_episodes: int, min_seconds: float = 0.0) -> float:
        """Play whole episodes (at least ``min_episodes`` and ``min_seconds`` of steps); steps/s."""
        k0, episodes, elapsed = self.k, 0, 0.0
        with gc_paused():
            while episodes < min_episodes or elapsed < min_seconds:
                self.k, seconds = timed_episode(self.env, self.actions, self.k, self.seed + self.episodes)
                self.episodes += 1
                elapsed += seconds
                episodes += 1
        return (self.k - k0) / elapsed

    def round(self, budget: Budget) -> float:
        """One round of ``budget``: steps/s."""
        return self.play(budget.min_episodes, budget.min_seconds)

    def reset_ms(self, count: int, max_seconds: float = 1.0) -> tuple[float, int]:
        """Median reset time in ms over up to ``count`` seeds, and how many were timed."""
        times: list[float] = []
        with gc_paused():
            begin = time.perf_counter()
            for i in range(count):
                start = time.perf_counter()
                self.env.reset(seed=self.seed + 500_000 + i)
                times.append(time.perf_counter() - start)
                if i >= 19 and time.perf_counter() - begin > max_seconds:
                    break
        return statistics.median(times) * 1e3, len(times)


def median(values: list[float]) -> float:
    """The median (the figure every script reports)."""
    return float(statistics.median(values))


def alternated(rounds: int, players: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """``rounds`` rounds of every player in turn (A, B, A, B, ...): machine load hits all alike."""
    out: dict[str, list[float]] = {name: [] for name in players}
    for _ in range(rounds):
        for name, play in players.items():
            out[name].append(play())
    return out


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """The median of the per-round ratios of two alternated series."""
    return median([a / b for a, b in zip(ours, theirs, strict=True)])


def make_peer(wrapped: bool = True) -> tuple[gym.Env[Any, Any] | None, str]:
    """gym-invmgmt's MultiEchelon env (``gym.make``; ``.unwrapped`` unless ``wrapped``), or None and why.

    The peer is the ``bench`` extra: ``pip install --constraint constraints.txt gym-invmgmt``.
    """
    try:
        module = importlib.import_module("gym_invmgmt")
    except ImportError as err:
        return None, f"gym-invmgmt cannot be imported ({err}); pip install -e '.[bench]'"
    if PEER_ID not in gym.registry:
        return None, f"gym-invmgmt does not register {PEER_ID}"
    env = gym.make(PEER_ID)
    return (env if wrapped else env.unwrapped), str(getattr(module, "__version__", "?"))


_CHECKS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
}


def target(name: str, measured: float | None, op: str, threshold: float, unit: str) -> dict[str, Any]:
    """One target judged PASS / MISS (SKIP when not measured); ``op`` is '>=', '<=' or '<'."""
    status = "SKIP" if measured is None else "PASS" if _CHECKS[op](measured, threshold) else "MISS"
    return {"target": name, "measured": measured, "op": op, "threshold": threshold, "unit": unit,
            "status": status}


def shown(value: float | None, unit: str) -> str:
    """A figure with its unit, short enough for a targets table."""
    if value is None:
        return "n/a"
    formats = {"x": "{:.2f}x", "steps/s": "{:,.0f}/s", "ms": "{:.3f} ms", "s": "{:.2f} s"}
    return formats.get(unit, "{:.1f} " + unit).format(value)


def print_targets(targets: list[dict[str, Any]]) -> None:
    """The targets table: status, target, measured figure, threshold (80 columns)."""
    print(f"\n{'-- targets ':-<80}")
    print(f"{'':<6}{'':<44}{'figure':>15}{'target':>15}")
    for t in targets:
        bound = f"{t['op']} {shown(t['threshold'], t['unit'])}".replace(",000/s", "k/s")
        print(f"{t['status']:<6}{t['target']:<44}{shown(t['measured'], t['unit']):>15}{bound:>15}")


def machine_info() -> dict[str, Any]:
    """CPUs, versions and load, read from package metadata (numba is not imported here)."""

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {"cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "numpy": np.__version__, "numba": version("numba"),
            "gymnasium": gym.__version__, "gym_invmgmt": version("gym-invmgmt"),
            "platform": platform.platform(), "load_avg": [round(x, 2) for x in os.getloadavg()]}


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to a temp file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, indent=2, default=_plain) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")


def write_results(script: str, payload: dict[str, Any], path: Path | None = None,
                  command: str | None = None) -> Path:
    """Write a script's figures (with the command that made them and the machine) to ``path``,
    by default ``bench/results/<script>.json``; returns the path."""
    out = path or RESULTS / f"{script}.json"
    write_json_atomic(out, {"script": script, "command": command or f"python bench/{script}.py",
                            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            "machine": machine_info(), **payload})
    print(f"figures written to {out}")
    return out


def section(title: str) -> None:
    """A section header, 80 columns wide."""
    print(f"\n{f'-- {title} ':-<80}", flush=True)


def say(text: str) -> None:
    """Free text wrapped at 80 columns (continuation lines indented)."""
    import textwrap

    print(textwrap.fill(text, 80, subsequent_indent="    ", break_long_words=False,
                        break_on_hyphens=False), flush=True)
