"""A run folder loads without running code from it (issue 24, item 13): a crafted ``model.zip`` or
``vecnormalize.pkl`` never executes its payload; what is not plain data is refused in one line."""

from __future__ import annotations

import base64
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
from typer.testing import CliRunner

from allocsim.agents import runfiles
from allocsim.agents.policy import load_learned
from allocsim.agents.safe_load import read_normalization
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.cli import app

runner = CliRunner()


class _Payload:
    """Unpickling this runs ``os.system`` (what a crafted file would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """An untrained PPO saved as a run folder of tiny-dp (config, model, normalisation)."""
    folder = tmp_path / "run"
    folder.mkdir()
    hp = {"policy": "MlpPolicy", "policy_kwargs": {"net_arch": [8], "activation_fn": "tanh"}, "n_steps": 16}
    runfiles.write_config(folder, {"scenario": "tiny-dp", "algo": "ppo", "seed": 0, "action_mode": "shares",
                                   "hyperparams": hp})
    venv = VecNormalize(DummyVecEnv([lambda: AllocationEnv(load_scenario("tiny-dp"))]))
    model = PPO("MlpPolicy", venv, n_steps=16, policy_kwargs={"net_arch": [8]}, device="cpu")
    model.save(folder / runfiles.MODEL)
    venv.save(str(folder / runfiles.VECNORMALIZE))
    return folder


def test_a_plain_run_folder_loads_and_acts_as_saved(run_dir: Path) -> None:
    learned = load_learned(run_dir)
    saved = PPO.load(run_dir / runfiles.MODEL, device="cpu")  # SB3's own (unpickling) load, for reference
    obs = np.random.default_rng(0).uniform(-1, 2, (4, *saved.observation_space.shape)).astype(np.float32)
    assert np.array_equal(learned.model.predict(obs, deterministic=True)[0],
                          saved.predict(obs, deterministic=True)[0])
    stats = read_normalization(run_dir / runfiles.VECNORMALIZE)
    assert stats.obs_rms.mean.shape == saved.observation_space.shape


def test_a_crafted_vecnormalize_is_refused_without_running_it(run_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (run_dir / runfiles.VECNORMALIZE).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ValueError, match=r"vecnormalize\.pkl: refers to posix\.system, which is not"):
        load_learned(run_dir)
    assert not marker.exists()
    result = runner.invoke(app, ["evaluate", "--model", str(run_dir), "--episodes", "1"])
    assert result.exit_code == 2 and "not normalisation data" in result.stderr and not marker.exists()


def _rewrite_data(model: Path, change: dict[str, object]) -> None:
    with zipfile.ZipFile(model) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(files["data"])
    data.update(change)
    files["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(model, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def _pickled(marker: Path) -> dict[str, str]:
    return {":type:": "<class 'abc.ABCMeta'>",
            ":serialized:": base64.b64encode(pickle.dumps(_Payload(marker))).decode()}


def test_a_crafted_pickled_entry_of_model_zip_is_never_unpickled(run_dir: Path, tmp_path: Path) -> None:
    """policy_class (and the spaces, schedules...) are rebuilt from the run's config, not read."""
    marker = tmp_path / "pwned"
    _rewrite_data(run_dir / runfiles.MODEL,
                  {"policy_class": _pickled(marker), "action_space": _pickled(marker)})
    load_learned(run_dir)
    assert not marker.exists()


def test_an_unknown_pickled_entry_of_model_zip_is_refused(run_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _rewrite_data(run_dir / runfiles.MODEL, {"surprise": _pickled(marker)})
    with pytest.raises(ValueError, match="holds pickled surprise, which this loader does not rebuild"):
        load_learned(run_dir)
    assert not marker.exists()
