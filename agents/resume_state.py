"""What a training run's future depends on beyond ``model.zip``, saved at each checkpoint so that
``--resume`` continues bit for bit as if the run had never stopped.

Checkpoints fall on rollout boundaries (``CheckpointCallback``), so no rollout is half
collected. Beyond the policy, its optimizer and the timestep count (``model.zip``) and
the normalisation statistics (``vecnormalize.pkl``), the future depends on:

- the random generators: Python's, NumPy's global one (minibatch order), torch's (action
  sampling) and the action space's (an off-policy algorithm's first random actions);
- the episodes in flight: the env's state (native vector env, or each worker's), where each
  copy is in its seed stream, the episode returns so far, and the algorithm's last observation;
- VecNormalize's running discounted returns (not in its own file);
- an LSTM policy's hidden state, and an off-policy algorithm's replay buffer
  (``replay_buffer.npz``: its arrays and, as a JSON string, its position and fill).

``resume.npz`` holds the arrays and the timestep count they belong to; a resume uses them only
when that count is the finished checkpoint's (``progress.json``). Both files are read without
pickle (``allow_pickle=False``): a run folder holds data, never code.
Both vectorizations give their state: the native vector env as one value, ``--vec subproc``
worker by worker.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from allocsim.agents import runfiles

#: Attributes of the algorithm that carry episodes in flight (those it has).
MODEL_ARRAYS = ("_last_obs", "_last_episode_starts", "_last_original_obs", "_last_lstm_states")


def _flat(prefix: str, value: Any) -> dict[str, np.ndarray]:
    """Named tuples, tuples, tensors and arrays as flat ``prefix/a/b`` keys of arrays."""
    if isinstance(value, tuple):
        names = getattr(value, "_fields", None) or [str(i) for i in range(len(value))]
        out: dict[str, np.ndarray] = {}
        for name, item in zip(names, value, strict=True):
            out.update(_flat(f"{prefix}/{name}", item))
        return out
    if isinstance(value, torch.Tensor):
        return {prefix: value.detach().cpu().numpy()}
    return {prefix: np.asarray(value)}


def _unflat(template: Any, arrays: Any, prefix: str) -> Any:
    """The value shaped like ``template`` from the keys ``_flat`` wrote under ``prefix``."""
    if isinstance(template, tuple):
        names = getattr(template, "_fields", None) or [str(i) for i in range(len(template))]
        items = [_unflat(item, arrays, f"{prefix}/{name}")
                 for name, item in zip(names, template, strict=True)]
        return type(template)(*items) if hasattr(template, "_fields") else tuple(items)
    array = arrays[prefix]
    if isinstance(template, torch.Tensor):
        return torch.as_tensor(array, dtype=template.dtype, device=template.device).clone()
    return array.copy()


def _rng_arrays(model: BaseAlgorithm) -> dict[str, np.ndarray]:
    version, keys, gauss = random.getstate()
    name, mt, pos, has_gauss, cached = np.random.get_state()
    space = model.action_space._np_random  # None until the space is seeded or sampled
    return {
        "rng/python": np.array(json.dumps([version, list(keys), gauss])),
        "rng/numpy_keys": np.asarray(mt),
        "rng/numpy": np.array(json.dumps([name, int(pos), int(has_gauss), float(cached)])),
        "rng/torch": torch.get_rng_state().numpy(),
        "rng/action_space": np.array(json.dumps(None if space is None else space.bit_generator.state)),
    }


def _restore_rngs(model: BaseAlgorithm, arrays: Any) -> None:
    version, keys, gauss = json.loads(str(arrays["rng/python"]))
    random.setstate((version, tuple(keys), gauss))
    name, pos, has_gauss, cached = json.loads(str(arrays["rng/numpy"]))
    np.random.set_state((name, arrays["rng/numpy_keys"], pos, has_gauss, cached))
    torch.set_rng_state(torch.from_numpy(arrays["rng/torch"].copy()))
    space = json.loads(str(arrays["rng/action_space"]))
    if space is not None:
        model.action_space.np_random.bit_generator.state = space


def _raw_env(model: BaseAlgorithm) -> VecEnv:
    """The vector env below VecNormalize (or the one the model steps)."""
    env = model.get_env()
    return env.venv if model.get_vec_normalize_env() is not None else env  # type: ignore[union-attr]


def can_resume_exactly(model: BaseAlgorithm) -> bool:
    """Whether the model's env gives its state: the native vector env, or workers with ``worker_state``
    (``allocsim.agents.training_seeds.TrainingSeeds``)."""
    env = _raw_env(model)
    return hasattr(env, "get_state") or env.has_attr("worker_state")


def _env_state(env: VecEnv) -> Any:
    """The native vector env's state, or a tuple of the workers' states."""
    if hasattr(env, "get_state"):
        return env.get_state()
    return tuple(env.env_method("worker_state"))


def _set_env_state(env: VecEnv, state: Any) -> None:
    if hasattr(env, "set_state"):
        env.set_state(state)
        return
    for i, worker in enumerate(state):
        env.env_method("set_worker_state", worker, indices=i)


def save(run_dir: Path, model: BaseAlgorithm) -> None:
    """Write ``resume.npz``, then an off-policy model's replay buffer, for the model as it is now.

    Call it first in a checkpoint, before ``model.zip``, ``vecnormalize.pkl`` and ``progress.json``
    (last): ``resume.npz`` is used only when its timesteps are those of ``progress.json``, so a
    kill while a checkpoint is written falls back to a fresh start of the episodes in flight."""
    if not can_resume_exactly(model):
        (Path(run_dir) / runfiles.RESUME).unlink(missing_ok=True)
        return
    arrays = {"timesteps": np.array(model.num_timesteps, dtype=np.int64), **_rng_arrays(model)}
    arrays.update(_flat("env", _env_state(_raw_env(model))))
    norm = model.get_vec_normalize_env()
    if norm is not None:
        arrays["vecnormalize/returns"] = np.asarray(norm.returns)
    for name in MODEL_ARRAYS:
        value = getattr(model, name, None)
        if value is not None:
            arrays.update(_flat(f"model/{name}", value))
    off_policy = isinstance(model, OffPolicyAlgorithm)
    if off_policy:  # position and fill tell a buffer of another checkpoint
        buffer = model.replay_buffer
        arrays["replay/position"] = np.array([buffer.pos, buffer.full], dtype=np.int64)

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)

    runfiles.atomic_write(Path(run_dir) / runfiles.RESUME, write)
    if off_policy:
        save_replay_buffer(Path(run_dir) / runfiles.REPLAY_BUFFER, model.replay_buffer)


def _buffer_arrays(buffer: Any) -> dict[str, np.ndarray]:
    """The buffer's array attributes (a dict observation's as ``name/key``), cut to the filled rows."""
    rows = buffer.buffer_size if buffer.full else buffer.pos
    out: dict[str, np.ndarray] = {}
    for name, value in sorted(vars(buffer).items()):
        if isinstance(value, np.ndarray):
            out[name] = value[:rows]
        elif isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values()):
            out.update({f"{name}/{key}": array[:rows] for key, array in sorted(value.items())})
    return out


def save_replay_buffer(path: Path, buffer: Any) -> Path:
    """Write an SB3 replay buffer as ``.npz``: its arrays (the filled rows; the rest are the zeros a
    new buffer starts with) and ``meta``, a JSON string of its position, fill and size."""
    meta = {"pos": int(buffer.pos), "full": bool(buffer.full), "buffer_size": int(buffer.buffer_size),
            "n_envs": int(buffer.n_envs)}
    arrays = {f"data/{k}": v for k, v in _buffer_arrays(buffer).items()}
    arrays["meta"] = np.array(json.dumps(meta))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)

    return runfiles.atomic_write(path, write)


def load_replay_buffer(path: Path, buffer: Any) -> bool:
    """Fill ``buffer`` (a new one of the run's settings) from ``save_replay_buffer``'s file, without
    pickle; False, leaving it untouched, when the file is not of this buffer's size and arrays, and
    ValueError naming the file when it is not a replay buffer file at all (or holds objects)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            saved = {key.removeprefix("data/"): data[key] for key in data.files if key.startswith("data/")}
        meta = {k: meta[k] for k in ("pos", "full", "buffer_size", "n_envs")}
    except (OSError, ValueError, KeyError, TypeError) as err:
        why = (str(err).splitlines() or [type(err).__name__])[0]
        raise ValueError(f"{path}: not a replay buffer file of allocsim ({why})") from None
    if (meta["buffer_size"], meta["n_envs"]) != (buffer.buffer_size, buffer.n_envs):
        return False
    targets = {}
    for name, array in _buffer_arrays(buffer).items():  # the new buffer's (empty) arrays, by name
        owner, _, key = name.partition("/")
        target = getattr(buffer, owner)
        target = target[key] if key else target
        source = saved.get(name)
        if source is None or source.dtype != array.dtype or source.shape[1:] != array.shape[1:]:
            return False
        targets[name] = (target, source)
    if set(saved) != set(targets) or not 0 <= int(meta["pos"]) <= buffer.buffer_size:
        return False
    rows = buffer.buffer_size if meta["full"] else int(meta["pos"])
    if any(source.shape[0] != rows for _, source in targets.values()):
        return False
    for target, source in targets.values():
        target[:rows] = source
    buffer.pos, buffer.full = int(meta["pos"]), bool(meta["full"])
    return True


def saved_timesteps(run_dir: Path) -> int | None:
    """The timestep count of the saved state (None without one)."""
    path = Path(run_dir) / runfiles.RESUME
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        return int(data["timesteps"])


def restore(run_dir: Path, model: BaseAlgorithm) -> bool:
    """Put the saved episodes, generators and buffers back into a model loaded from ``model.zip``
    (its env freshly built); False when there is none, or its files are of different checkpoints."""
    path = Path(run_dir) / runfiles.RESUME
    replay = Path(run_dir) / runfiles.REPLAY_BUFFER
    if not path.is_file() or not can_resume_exactly(model):
        return False
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    if int(arrays["timesteps"]) != model.num_timesteps:
        return False  # killed between writing model.zip and resume.npz
    if isinstance(model, OffPolicyAlgorithm):
        if not replay.is_file() and (Path(run_dir) / runfiles.LEGACY_REPLAY_BUFFER).is_file():
            raise ValueError(f"--resume: {run_dir} keeps its replay buffer as "
                             f"{runfiles.LEGACY_REPLAY_BUFFER}, SB3's pickle, which allocsim no longer "
                             "reads; start this run afresh")
        if not replay.is_file() or not load_replay_buffer(replay, model.replay_buffer):
            return False
        if [model.replay_buffer.pos, model.replay_buffer.full] != arrays["replay/position"].tolist():
            return False  # killed between writing the buffer and resume.npz
    env = _raw_env(model)
    env.reset()  # a started env gives the template the saved state is read into
    _set_env_state(env, _unflat(_env_state(env), arrays, "env"))
    norm = model.get_vec_normalize_env()
    if norm is not None:
        norm.returns = arrays["vecnormalize/returns"].copy()
    for name in MODEL_ARRAYS:  # after load, the arrays are None and the LSTM state zeros of its shape
        if any(k == f"model/{name}" or k.startswith(f"model/{name}/") for k in arrays):
            setattr(model, name, _unflat(getattr(model, name, None), arrays, f"model/{name}"))
    _restore_rngs(model, arrays)
    return True
