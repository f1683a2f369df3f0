"""Load a run folder's ``model.zip`` and ``vecnormalize.pkl`` without running code from them.

SB3 stores most of a model as JSON and tensors (read with ``torch.load(weights_only=True)``),
but a few entries of ``model.zip``'s ``data`` (spaces, the policy class, schedules, buffers) are
cloudpickled, and ``VecNormalize.save`` pickles the whole wrapper. Unpickling runs whatever a
crafted file asks for. Here:

* ``model.zip``: every pickled entry is replaced (SB3's ``custom_objects``) by a value rebuilt
  from the run's own plain data (its ``config.yaml`` and the scenario's spaces), so nothing in
  the zip is unpickled; an entry this loader does not know is refused, not unpickled.
* ``vecnormalize.pkl``: read by an unpickler that builds only the classes a VecNormalize file
  holds (numpy arrays and generators, gymnasium ``Box``, SB3's ``RunningMeanStd`` and
  ``VecNormalize`` state); any other class or function (``os.system``...) is refused.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

from allocsim.core.error_text import shorten

#: (module, name) pairs a VecNormalize pickle may name: data classes, never a callable with effects.
PLAIN_CLASSES = frozenset({
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.random._pickle", "__generator_ctor"), ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("numpy.random._pcg64", "PCG64"), ("numpy.random.bit_generator", "SeedSequence"),
    ("gymnasium.spaces.box", "Box"),
    ("stable_baselines3.common.running_mean_std", "RunningMeanStd"),
    ("stable_baselines3.common.vec_env.vec_normalize", "VecNormalize"),
    ("collections", "OrderedDict"),
})

#: Pickled ``model.zip`` entries that the loader drops (rebuilt by SB3 on load, or live state).
DROPPED = ("_last_obs", "_last_episode_starts", "_last_original_obs", "ep_info_buffer",
           "ep_success_buffer", "rollout_buffer_class", "replay_buffer_class", "lr_schedule", "action_noise")


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in PLAIN_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name}")


def read_normalization(path: Path) -> Any:
    """The VecNormalize state saved at ``path``; ValueError naming a class that is not plain data."""
    try:
        with Path(path).open("rb") as handle:
            return _PlainUnpickler(handle).load()
    except pickle.UnpicklingError as err:
        raise ValueError(f"{path}: refers to {shorten(str(err), 80)}, which is not normalisation data; "
                         "refused (a run file is loaded without running code from it)") from None
    except (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as err:
        raise ValueError(f"{path}: not a readable normalisation file ({shorten(str(err), 80)})") from None


def pickled_entries(model_path: Path) -> list[str]:
    """The entries of ``model.zip``'s ``data`` that SB3 would unpickle."""
    try:
        with zipfile.ZipFile(model_path) as archive:
            data = json.loads(archive.read("data"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(f"{model_path}: not an SB3 model file ({shorten(str(err), 80)})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{model_path}: not an SB3 model file (its data is not a mapping)")
    return [k for k, v in data.items() if isinstance(v, dict) and ":serialized:" in v]


def load_model(algo: Any, model_path: Path, config: dict[str, Any], spaces: tuple[Any, Any],
               **kwargs: Any) -> Any:
    """``algo.cls.load`` with every pickled entry replaced from ``config`` (the run's config.yaml) and
    ``spaces`` (observation and action space of the env it was trained on); ValueError naming an
    entry the loader cannot rebuild (it is refused, never unpickled)."""
    from allocsim.agents.hyperparams import PolicyKwargs
    from allocsim.agents.policies import run_policy

    hp = dict(config.get("hyperparams") or {})
    policy_class, network_kwargs = run_policy(algo, config)  # a registered policy's layout: from the scenario
    known: dict[str, Any] = {
        "policy_class": policy_class,
        "policy_kwargs": {**PolicyKwargs(**(hp.get("policy_kwargs") or {})).to_sb3(), **network_kwargs},
        "observation_space": spaces[0], "action_space": spaces[1],
        "clip_range": float(hp.get("clip_range") or 0.2),
        "clip_range_vf": hp.get("clip_range_vf"),
        "train_freq": int(hp.get("train_freq") or 1),  # off-policy; SB3 turns it into TrainFreq on load
        **dict.fromkeys(DROPPED),
    }
    entries = pickled_entries(model_path)
    unknown = [k for k in entries if k not in known or (k == "policy_class" and known[k] is None)]
    if unknown:
        raise ValueError(f"{model_path}: holds pickled {', '.join(shorten(k, 40) for k in unknown[:3])}, "
                         "which this loader does not rebuild; refused (no code is run from a run file)")
    return algo.cls.load(model_path, custom_objects={k: known[k] for k in entries}, **kwargs)


def run_spaces(config: dict[str, Any]) -> tuple[Any, Any]:
    """Observation and action space of the env a run was trained on, rebuilt from its config."""
    from allocsim.envs.allocation_env import AllocationEnv
    from allocsim.envs.scenario import load_scenario

    env = AllocationEnv(load_scenario(str(config["scenario"])),
                        action_mode=str(config.get("action_mode") or "shares"),
                        residual_around=config.get("residual_around"))
    return env.observation_space, env.action_space
