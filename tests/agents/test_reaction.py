"""The reaction report: a constant policy has zero spread, one that reads the calendar does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from allocsim.agents.reaction import Spread, action_spread
from allocsim.envs.allocation_env import AllocationEnv


def test_spread_by_hand() -> None:
    # 4 periods x 2 episodes x 1 entry
    actions = np.array([[[0.0], [0.0]], [[1.0], [1.0]], [[2.0], [2.0]], [[3.0], [3.0]]])
    spread = Spread(actions)
    assert spread.std[0] == pytest.approx(np.sqrt(1.25))  # values 0..3 twice: variance (2.25+0.25) x 2 / 4
    np.testing.assert_allclose(spread.by_part(2), [[0.5], [2.5]])


class _Constant:
    def __init__(self, action: np.ndarray) -> None:
        self.action = action

    def predict(self, obs: np.ndarray) -> tuple[np.ndarray, None]:
        return np.tile(self.action, (len(obs), 1)), None


class _Calendar(_Constant):
    """Entry 0 is the episode's elapsed share t / T (the calendar block's first entry)."""

    def predict(self, obs: np.ndarray) -> tuple[np.ndarray, None]:
        action, _ = super().predict(obs)
        action[:, 0] = obs[:, -5]
        return action, None


def test_a_constant_policy_does_not_react_and_a_calendar_one_does() -> None:
    env = AllocationEnv("retail-small", action_mode="residual")
    size, periods = env.action_space.shape[0], env.network.periods
    still = action_spread(_Constant(np.full(size, 0.25)), "retail-small", [40_000, 40_001], "residual")
    assert still.actions.shape == (periods, 2, size) and np.all(still.std == 0)
    moving = action_spread(_Calendar(np.zeros(size)), "retail-small", [40_000, 40_001], "residual")
    assert moving.std[0] > 0.2 and np.all(moving.std[1:] == 0)
    assert np.all(np.diff(moving.by_part()[:, 0]) > 0)  # later in the episode, larger


def test_a_run_folder_and_its_export_react_alike(retail_small_onnx: Path) -> None:
    """The report reads a run folder, its ``.onnx`` and the shipped file by name; same policy, same spread."""
    from allocsim.agents import pretrained
    from allocsim.agents.inference import OnnxPolicy
    from allocsim.agents.reaction import load_any

    run = retail_small_onnx.parent / "retail-small-ppo"  # where train_tiny wrote the exported run
    seeds = [40_000, 40_001]
    spreads = []
    for model in (str(run), str(retail_small_onnx)):
        policy, mode, around = load_any(model, "retail-small")
        assert mode == "shares" and around is None
        spreads.append(action_spread(policy, "retail-small", seeds, mode, around))
    np.testing.assert_allclose(spreads[0].actions, spreads[1].actions, atol=1e-5)
    assert spreads[0].std.max() > 0  # the tiny PPO reads its observation
    shipped = pretrained.pretrained_path("retail-small")
    assert shipped is not None
    name = pretrained.pretrained_label(OnnxPolicy.load(shipped).card.algo)
    policy, mode, _ = load_any(name, "retail-small")
    assert isinstance(policy, OnnxPolicy) and mode == OnnxPolicy.load(shipped).card.action_mode
