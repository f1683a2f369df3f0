"""The shipped RL Zoo file is in the zoo's format, and rl_zoo3 trains from it as is (when installed)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from torch import nn

from allocsim.envs import ENV_ID
from allocsim.envs.scenario import load_scenario

ZOO_FILE = Path(__file__).resolve().parents[2] / "agents" / "hyperparams" / "rl-zoo" / "ppo.yml"


def test_the_zoo_file_is_keyed_by_env_id_with_evaluable_policy_kwargs() -> None:
    entries = yaml.safe_load(ZOO_FILE.read_text())
    assert list(entries) == [ENV_ID]
    entry = entries[ENV_ID]
    assert entry["normalize"] is True and entry["policy"] == "MlpPolicy"
    kwargs = eval(entry["policy_kwargs"], {"nn": nn})  # what rl_zoo3 does with this string
    assert kwargs == {"net_arch": [64, 64], "activation_fn": nn.Tanh}
    assert load_scenario(entry["env_kwargs"]["scenario"]).name == "retail-small"


@pytest.mark.skipif(importlib.util.find_spec("rl_zoo3") is None, reason="rl_zoo3 not installed (extra: zoo)")
def test_rl_zoo_trains_from_the_shipped_file(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "rl_zoo3.train", "--algo", "ppo", "--env", ENV_ID,
               "--gym-packages", "allocsim.envs", "-conf", str(ZOO_FILE),
               "-n", "64", "-f", str(tmp_path), "--eval-freq", "-1", "--seed", "0",
               "--env-kwargs", "scenario:'tiny-dp'",
               "--hyperparams", "n_envs:1", "n_steps:64", "batch_size:64"]  # a tiny budget
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    run = tmp_path / "ppo" / "allocsim-Allocation-v0_1"
    assert (run / "allocsim-Allocation-v0.zip").is_file()
    assert (run / "allocsim-Allocation-v0" / "vecnormalize.pkl").is_file()
