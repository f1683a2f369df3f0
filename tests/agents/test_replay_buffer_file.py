"""An off-policy run's replay buffer is kept as plain arrays (``replay_buffer.npz``), read back
without pickle into a new buffer that equals the saved one array for array (issue 24, item 13)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer

from allocsim.agents.resume_state import load_replay_buffer, save_replay_buffer

OBS = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
ACT = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)


def _filled(buffer: ReplayBuffer | DictReplayBuffer, steps: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    obs_space = buffer.observation_space
    for _ in range(steps):
        def sample() -> object:
            if isinstance(obs_space, spaces.Dict):
                return {k: rng.random((buffer.n_envs, *s.shape)).astype(s.dtype)
                        for k, s in obs_space.items()}
            return rng.random((buffer.n_envs, *obs_space.shape)).astype(np.float32)

        buffer.add(sample(), sample(), rng.random((buffer.n_envs, 2)).astype(np.float32),
                   rng.random(buffer.n_envs), rng.random(buffer.n_envs) < 0.1,
                   [{"TimeLimit.truncated": bool(rng.random() < 0.5)} for _ in range(buffer.n_envs)])


def _same(a: ReplayBuffer | DictReplayBuffer, b: ReplayBuffer | DictReplayBuffer) -> None:
    assert (a.pos, a.full) == (b.pos, b.full)
    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, dict):
            assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
        else:
            assert x.dtype == y.dtype and np.array_equal(x, y)


@pytest.mark.parametrize(("steps", "n_envs"), [(7, 1), (25, 2), (0, 1)])  # part filled, wrapped round, empty
def test_a_buffer_comes_back_array_for_array(tmp_path: Path, steps: int, n_envs: int) -> None:
    saved = ReplayBuffer(20, OBS, ACT, device="cpu", n_envs=n_envs)
    _filled(saved, steps)
    path = save_replay_buffer(tmp_path / "replay_buffer.npz", saved)
    fresh = ReplayBuffer(20, OBS, ACT, device="cpu", n_envs=n_envs)
    assert load_replay_buffer(path, fresh)
    _same(saved, fresh)
    assert fresh.full == (steps >= 20 // n_envs)
    with np.load(path, allow_pickle=False) as data:  # every entry is plain data
        assert all(data[k].dtype != object for k in data.files)


def test_a_dict_observation_buffer_comes_back_too(tmp_path: Path) -> None:
    space = spaces.Dict({"a": OBS, "b": spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)})
    saved = DictReplayBuffer(10, space, ACT, device="cpu")
    _filled(saved, 13)
    fresh = DictReplayBuffer(10, space, ACT, device="cpu")
    assert load_replay_buffer(save_replay_buffer(tmp_path / "r.npz", saved), fresh)
    _same(saved, fresh)


def test_a_buffer_of_other_settings_is_not_taken(tmp_path: Path) -> None:
    saved = ReplayBuffer(20, OBS, ACT, device="cpu")
    _filled(saved, 5)
    path = save_replay_buffer(tmp_path / "r.npz", saved)
    for other in (ReplayBuffer(30, OBS, ACT, device="cpu"),
                  ReplayBuffer(20, spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32), ACT, device="cpu")):
        assert not load_replay_buffer(path, other)
        assert other.pos == 0 and not other.observations.any()  # untouched


def test_a_file_holding_objects_is_refused_not_unpickled(tmp_path: Path) -> None:
    """A crafted file with a pickled entry: numpy refuses it (allow_pickle=False), we name the file."""
    path = tmp_path / "replay_buffer.npz"
    np.savez(path, meta=np.array('{"pos": 0, "full": false, "buffer_size": 20, "n_envs": 1}'),
             **{"data/observations": np.array([object()], dtype=object)})
    with pytest.raises(ValueError, match=r"replay_buffer\.npz: not a replay buffer file"):
        load_replay_buffer(path, ReplayBuffer(20, OBS, ACT, device="cpu"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz: not a replay buffer file"):
        load_replay_buffer(tmp_path / "junk.npz", ReplayBuffer(20, OBS, ACT, device="cpu"))
    assert zipfile.is_zipfile(path)
