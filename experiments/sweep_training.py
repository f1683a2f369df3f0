"""Learned-policy kinds of sweeps: ``train`` (a training job whose policy then plays the cell's seed)
and ``model`` (a training run folder, carried inside the cell).

Entry: ``{kind: train, algo: ppo, timesteps: 50000, train_seed: 0, hyperparams: {...}, label: ...,
action_mode: residual}``; ``action_mode`` (default ``shares``) is the env's action mode while training
(``residual`` centres on the tuned base-stock parameters of ``tuned_dir``); the policy then drives
the cell's ``shares`` env as the evaluator does. ``hyperparams`` overrides the packaged entry of
the scenario key by key (validated as in ``agents/hyperparams``), and the job trains on the native
vector env with the hyperparameters' ``n_envs`` copies (one process: one CPU per cell). When the
entry warm starts (``warm_start``), the rule it clones is the best tuned
rule of ``tuned_dir``, named in the cell (and so in the job's hash).

A job is identified by a hash of (scenario content, algorithm, seed, budget, hyperparameters)
and trained once per machine into ``$ALLOCSIM_TRAIN_CACHE/<job hash>/`` (default
``~/.cache/allocsim/train``), under a file lock: the first cell of the job trains it, the
others wait and reuse it; a finished job is never retrained, an interrupted one resumes.
Training is deterministic per seed, so machines without a shared cache train identical
copies and every backend gives the same rows. Run folders are unpickled: the cache is
trusted like any of your own runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from allocsim.agents.mode_adapter import for_env
from allocsim.envs.action_modes import mode_class
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import PolicySpec, Row, build_policy, env_for, run_episode
from allocsim.experiments.option_limits import MAX_SEED, MAX_TIMESTEPS

if TYPE_CHECKING:
    from allocsim.experiments.sweep_kinds import ExpandContext

CACHE_ENV = "ALLOCSIM_TRAIN_CACHE"


class TrainEntry(BaseModel):
    """A training job in a sweep file."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["train"]
    algo: str = "ppo"
    timesteps: Annotated[int, Strict(), Field(ge=1, le=MAX_TIMESTEPS)]
    train_seed: Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)] = 0
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None
    action_mode: str | None = None  # None: the hyperparameter entry's mode

    @field_validator("action_mode")
    @classmethod
    def _known_mode(cls, value: str | None) -> str | None:
        if value is not None:
            mode_class(value)
        return value


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "allocsim" / "train")


def job_key(cell: dict[str, Any]) -> str:
    """A stable hash of what the trained policy depends on (code version included; not the label or
    the evaluation seed)."""
    from allocsim import __version__

    policy = {k: v for k, v in cell["policy"].items() if k != "label"}
    text = json.dumps({"scenario": cell["scenario_spec"], "allocsim": __version__, **policy}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if needed), released on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_TRAINED: dict[str, Any] = {}


def trained_policy(cell: dict[str, Any]) -> Any:
    """The job's learned policy: trained into the cache on first use, loaded once per process."""
    from allocsim.agents import runfiles
    from allocsim.agents.hyperparams import Hyperparams
    from allocsim.agents.policy import load_learned
    from allocsim.agents.training import SeedCycle, TrainConfig, train
    from allocsim.experiments.seeds import seed_block

    key = job_key(cell)
    if key in _TRAINED:
        return _TRAINED[key]
    policy = cell["policy"]
    run_dir = cache_root() / key
    with file_lock(cache_root() / f"{key}.lock"):
        if not runfiles.read_progress(run_dir).get("done"):
            run_dir.mkdir(parents=True, exist_ok=True)
            scenario_file = run_dir / "scenario.yaml"
            runfiles.write_text(scenario_file, yaml.safe_dump(cell["scenario_spec"], sort_keys=False))
            block = seed_block("training")
            teacher = policy.get("teacher")
            config = TrainConfig(
                scenario=str(scenario_file), algo=policy["algo"], seed=policy["train_seed"],
                hyperparams=Hyperparams.model_validate(policy["hyperparams"]),
                seed_cycle=SeedCycle(block.start, block.size), timesteps=policy["timesteps"],
                out=run_dir, teacher=partial(build_policy, PolicySpec(**teacher)) if teacher else None,
                action_mode=policy.get("action_mode", "shares"),
                residual_around=policy.get("residual_around"),
            )
            train(config, resume=True)
    _TRAINED[key] = load_learned(run_dir)
    return _TRAINED[key]


class TrainKind:
    """Sweep kind ``train``: train (once per machine), then play the cell's seed."""

    def expand(self, entry: dict[str, Any], scenario: Scenario, ctx: ExpandContext) -> dict[str, Any]:
        from allocsim.agents.algorithms import algorithm
        from allocsim.agents.hyperparams import load_hyperparams, validate
        from allocsim.agents.training import planned_timesteps

        job = TrainEntry.model_validate(entry)
        spec = algorithm(job.algo)
        base = load_hyperparams(job.algo, scenario.name).model_dump(mode="json", exclude_none=True)
        hp = validate({**base, **job.hyperparams}, f"{ctx.source}: hyperparams")
        hp.check_for(spec)
        planned_timesteps(spec.name, hp, job.timesteps, hp.n_envs)  # below one rollout: a config error
        clash = hp.start_conflict(mode := job.action_mode or hp.mode)
        if clash:
            raise ValueError(f"action_mode {mode}: {clash}; drop it from the entry's hyperparams")
        cell = {"kind": "train", "algo": spec.name, "train_seed": job.train_seed, "timesteps": job.timesteps,
                "hyperparams": hp.model_dump(mode="json", exclude_none=True, exclude={"action_mode"}),
                "label": job.label or f"{spec.name}-train{job.train_seed}"}
        if mode != "shares":  # only then in the cell: the hashes of shares jobs stay as they were
            from allocsim.experiments.train_cmd import action_mode_args

            cell.update(action_mode_args(mode, scenario, ctx.tuned_dir))
        if hp.warm_start is not None:  # the rule to clone: the best tuned rule, as allocsim train picks it
            from allocsim.experiments.seeds import seed_block
            from allocsim.experiments.train_cmd import best_rule

            rule = best_rule(scenario, ctx.tuned_dir, seed_block("validation").seeds(10))
            cell["teacher"] = {"name": rule.name, "params": dict(rule.params)}
        return cell

    def check(self, policy: dict[str, Any], scenario: Scenario) -> None:
        """Nothing more to check before training: the entry was validated in ``expand``."""

    def run(self, cell: dict[str, Any]) -> Row:
        env = env_for(Scenario.model_validate(cell["scenario_spec"]))
        learned = for_env(trained_policy(cell).fresh(), env)  # checks the sizes; adapts a targets policy
        return run_episode(env, learned, cell["seed"], cell["warm_up"])


# ------------------------------------------------------------------ model
class ModelEntry(BaseModel):
    """``{kind: model, path: RUN_DIR, label: ...}``: a training run folder, relative to the sweep file."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["model"]
    path: str
    label: str | None = None


_MODELS: dict[str, Any] = {}


def _unpacked(policy: dict[str, Any]) -> Any:
    """The learned policy of an embedded run folder, unpacked into a temp folder once per process
    (removed as soon as it is loaded: nothing is left in the temp directory)."""
    import base64
    import tempfile

    from allocsim.agents.policy import load_learned

    key = policy["digest"]
    if key not in _MODELS:
        with tempfile.TemporaryDirectory(prefix="allocsim-model-") as tmp:  # read whole into memory
            folder = Path(tmp) / policy["name"]
            folder.mkdir()
            for name, data in policy["files"].items():
                (folder / name).write_bytes(base64.b64decode(data))
            _MODELS[key] = load_learned(folder)
    return _MODELS[key]


class ModelKind:
    """Sweep kind ``model``: a trained run folder, its files carried inside the cell (loaded on the
    worker without unpickling code, ``allocsim.agents.safe_load``)."""

    def expand(self, entry: dict[str, Any], scenario: Scenario, ctx: ExpandContext) -> dict[str, Any] | None:
        import base64

        from allocsim.agents.runfiles import policy_files, read_config

        model = ModelEntry.model_validate(entry)
        folder = Path(model.path)
        folder = folder if folder.is_absolute() else Path(ctx.source).parent / folder
        config = read_config(folder)
        trained_hash = config.get("scenario_hash")  # older runs record only the scenario's name
        fits = (trained_hash == scenario.content_hash() if trained_hash is not None
                else config.get("scenario_name") == scenario.name)
        if not fits:
            return None  # trained on another scenario
        model_file, stats_file = policy_files(folder)
        sources = {"config.yaml": folder / "config.yaml", "model.zip": model_file,
                   "vecnormalize.pkl": stats_file}
        files = {name: path.read_bytes() for name, path in sources.items() if path.is_file()}
        if "model.zip" not in files:
            raise ValueError(f"path: {folder} has no model.zip yet")
        digest = hashlib.sha256(b"".join(files[n] for n in sorted(files))).hexdigest()
        return {"kind": "model", "name": folder.name, "digest": digest,
                "files": {n: base64.b64encode(d).decode("ascii") for n, d in files.items()},
                "label": model.label or f"{config['algo']}:{folder.name}"}

    def check(self, policy: dict[str, Any], scenario: Scenario) -> None:
        for_env(_unpacked(policy).fresh(), env_for(scenario))

    def run(self, cell: dict[str, Any]) -> Row:
        env = env_for(Scenario.model_validate(cell["scenario_spec"]))
        learned = for_env(_unpacked(cell["policy"]).fresh(), env)
        return run_episode(env, learned, cell["seed"], cell["warm_up"])
