"""Does a learned policy react to the state? The spread of its actions over the states it meets.

A ``targets``/``residual`` policy that plays one constant action (the searched residual start) is a
tuned rule, not a policy that reads the state: its actions have zero spread. ``action_spread`` plays
a learned policy deterministically on given seeds and reports, per action entry, the standard
deviation of its actions over every period of every episode, and the mean action in each fifth of
the episode (what changes with the season or the episode's end). Used to show that DCL's policy moves
off its start (docs/training.md, DCL). ``python -m allocsim.agents.reaction RUN... --scenario S``
prints it for training run folders (their ``best/`` when kept, as ``evaluate``), exported ``.onnx``
files and ``pretrained:<algo>`` (the shipped policy).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Spread:
    """Actions (periods, episodes, n) of one policy and what they say about its reaction."""

    actions: FloatArray

    @property
    def std(self) -> FloatArray:
        """Per entry, the standard deviation over every period of every episode (0: constant)."""
        return self.actions.reshape(-1, self.actions.shape[-1]).std(axis=0)

    def by_part(self, parts: int = 5) -> FloatArray:
        """(parts, n): the mean action in each ``parts``-th of the episode (pooled over episodes)."""
        chunks = np.array_split(self.actions, parts, axis=0)
        return np.stack([c.reshape(-1, c.shape[-1]).mean(axis=0) for c in chunks])


def action_spread(policy: object, scenario: str, seeds: Sequence[int], action_mode: str,
                  residual_around: dict[str, float] | None = None) -> Spread:
    """Play ``policy`` (``predict`` on a batch of observations) on ``seeds`` in ``action_mode``."""
    from allocsim.envs.vector_env import AllocationVectorEnv

    chosen = [int(s) for s in seeds]
    env = AllocationVectorEnv(len(chosen), scenario, seed_stream=lambda _base, i, _j: chosen[i],
                              action_mode=action_mode, residual_around=residual_around)
    try:
        obs, _ = env.reset(seed=0)
        rows, finished = [], np.zeros(len(chosen), dtype=bool)
        while not finished.all():
            action = np.asarray(policy.predict(obs)[0], dtype=np.float64)  # type: ignore[attr-defined]
            rows.append(np.clip(action, -1.0, 1.0))
            obs, _, terminated, truncated, _ = env.step(action.astype(np.float32))
            finished |= terminated | truncated
    finally:
        env.close()
    return Spread(np.stack(rows))


def load_any(model: str, scenario: str | None = None) -> tuple[object, str, dict[str, float] | None]:
    """A policy, its action mode and residual reference: a run folder, ``.onnx`` or ``pretrained:<algo>``."""
    from allocsim.agents.pretrained import resolve_shipped

    path = resolve_shipped(model, scenario) or Path(model)
    if path.suffix == ".onnx":
        from allocsim.agents.inference import OnnxPolicy

        onnx = OnnxPolicy.load(path)
        return onnx, onnx.card.action_mode, onnx.card.residual_around or None
    from allocsim.agents.policy import load_learned

    learned = load_learned(path)
    return learned, learned.action_mode, learned.residual_around


def main(argv: Sequence[str] | None = None) -> None:
    """Print each policy's mean and largest per-entry spread and its mean action per fifth of the episode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="training run folders, .onnx files or pretrained:<algo>")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=40_000, help="first seed (default: the test block)")
    args = parser.parse_args(argv)
    np.set_printoptions(precision=3, suppress=True, linewidth=160)
    for model in args.models:
        policy, mode, around = load_any(model, args.scenario)
        seeds = range(args.seed, args.seed + args.episodes)
        spread = action_spread(policy, args.scenario, seeds, mode, around)
        std = spread.std
        print(f"{model}: action std over states, mean {std.mean():.4f}, max {std.max():.4f} "
              f"(entry {int(std.argmax())}); per entry:\n{std}")
        print(f"mean action per fifth of the episode (rows):\n{spread.by_part()}")


if __name__ == "__main__":
    main()
