"""Fixtures shared across wings: a briefly trained PPO run and its ONNX export."""

from __future__ import annotations

from pathlib import Path

import pytest

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
