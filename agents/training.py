"""Train an SB3 agent on a scenario: vector envs, normalisation, logs, evaluation, checkpoints, resume.

``train(config)`` builds ``n_envs`` copies of the world, by default as one native
compiled batch (``AllocationVectorEnv`` behind ``AllocationSb3VecEnv``), or one
single env per worker process (``vectorization="subproc"``), wraps them in
``VecNormalize`` where the hyperparameters ask for it, and learns. Every copy (worker)
plays demand seeds from the training seed block,
``start + (1000 * seed + episode * n_envs + worker) % size``: training never sees
validation or test customers, and the run seed picks where in the block it starts.
Torch runs one thread per process.

Every ``eval_every`` timesteps the callback evaluates (through an ``Evaluator``
given by the caller, e.g. against the best tuned rule on validation seeds),
writes a row to ``metrics.csv`` and saves ``model.zip``, ``vecnormalize.pkl`` and
``progress.json`` (checkpoints fall between rollouts); the checkpoint with the best
validation profit is also kept in ``best/``, which loading and export use.
``resume=True`` loads the latest checkpoint and continues exactly where it was, as if
never stopped (generators, episodes in flight, buffers: ``allocsim.agents.resume_state``),
so a resumed run ends bit-identical to an uninterrupted one.
With ``warm_start`` in the hyperparameters, the fresh policy first clones ``config.teacher``
(``allocsim.agents.warm_start``) and is evaluated once before learning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecNormalize

from allocsim.agents import resume_state, runfiles
from allocsim.agents.algorithms import algorithm
from allocsim.agents.callbacks import CheckpointCallback, EpisodeKpiCallback, Evaluator, ProgressCallback
from allocsim.agents.hyperparams import Hyperparams
from allocsim.agents.policies import sb3_policy
from allocsim.agents.residual_search import residual_start
from allocsim.agents.safe_load import load_model, read_normalization
from allocsim.agents.training_seeds import SeedCycle as SeedCycle  # re-exported: part of the training API
from allocsim.agents.training_seeds import env_factory
from allocsim.agents.vec_env import AllocationSb3VecEnv
from allocsim.agents.warm_start import Teacher, warm_start
from allocsim.core.heartbeat import with_heartbeat
from allocsim.core.processes import pool_context
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.envs.scenario import load_scenario
from allocsim.envs.vector_env import AllocationVectorEnv

RUNS_DIR = Path("runs") / "train"


def collection_steps(algo: str, hp: Hyperparams, n_envs: int) -> int:
    """Env steps per collection (rollout) of ``algo`` with ``hp`` on ``n_envs`` copies."""
    return algorithm(algo).steps_per_copy(hp.n_steps, hp.train_freq) * n_envs


def planned_timesteps(algo: str, hp: Hyperparams, total: int, n_envs: int) -> int:
    """``total`` rounded down to whole collections: training stops there, never above the budget.

    ValueError when the budget is below one collection.
    """
    collection = collection_steps(algo, hp, n_envs)
    whole = total // collection * collection
    if whole == 0:
        raise ValueError(f"a budget of {total:,} timesteps is less than one rollout "
                         f"({n_envs} copies x {collection // n_envs:,} steps = {collection:,}); "
                         "raise --timesteps, or lower --n-envs or the n_steps of --hyperparams")
    return whole


@dataclass
class TrainConfig:
    """Everything a run depends on; written to ``config.yaml``."""

    scenario: str
    algo: str
    seed: int
    hyperparams: Hyperparams
    seed_cycle: SeedCycle
    timesteps: int | None = None  # default: hyperparams.n_timesteps
    n_envs: int | None = None  # default: hyperparams.n_envs
    out: Path | None = None
    eval_every: int | None = None  # default: a tenth of the run, at least one rollout
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in config.yaml (e.g. the reference rule)
    teacher: Teacher | None = None  # the rule a ``warm_start`` clones (not recorded; ``extra`` names it)
    vectorization: str = "native"  # a key of VECTORIZATIONS
    action_mode: str | None = None  # the env's action mode (allocsim.envs.action_modes); None: the entry's
    residual_around: dict[str, float] | None = None  # base-stock parameters a residual action centres on

    def __post_init__(self) -> None:
        if self.vectorization not in VECTORIZATIONS:
            raise ValueError(f"vectorization {self.vectorization!r}: valid are {', '.join(VECTORIZATIONS)}")
        if self.action_mode is None:
            self.action_mode = self.hyperparams.mode

    @property
    def total(self) -> int:
        return int(self.timesteps or self.hyperparams.n_timesteps)

    @property
    def envs(self) -> int:
        return int(self.n_envs or self.hyperparams.n_envs)

    @property
    def collection(self) -> int:
        """Env steps per collection (rollout): steps per copy times copies."""
        return collection_steps(self.algo, self.hyperparams, self.envs)

    @property
    def planned(self) -> int:
        """The timesteps the run reaches: ``total`` rounded down to whole collections (ValueError if none)."""
        return planned_timesteps(self.algo, self.hyperparams, self.total, self.envs)

    def start_seeds(self, episodes: int) -> list[int]:
        """The training seeds a warm start or residual start plays before learning."""
        return [self.seed_cycle.seed(self.seed, k, 0, 1) for k in range(episodes)]

    def run_dir(self, scenario_name: str) -> Path:
        return Path(self.out) if self.out else RUNS_DIR / f"{scenario_name}-{self.algo}-seed{self.seed}"

    def to_yaml(self, scenario_name: str) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "scenario_name": scenario_name,
            "algo": self.algo,
            "seed": self.seed,
            "timesteps": self.total,
            "n_envs": self.envs,
            "vectorization": self.vectorization,
            "action_mode": self.action_mode,
            "residual_around": self.residual_around,
            "eval_every": self.eval_every,
            "seed_cycle": asdict(self.seed_cycle),
            "hyperparams": self.hyperparams.model_dump(mode="json", exclude_none=True),
            **self.extra,
            "created": datetime.now().isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    timesteps: int
    seconds: float
    metrics: list[dict[str, Any]]
    skipped: bool = False  # the run had already finished


def _native_vec_env(config: TrainConfig, first_episode: int) -> VecEnv:
    """All copies in one compiled batch; copy ``i``'s ``j``-th episode plays the cycle's seed for
    worker ``i``, episode ``first_episode + j`` (the same seeds the subprocess workers play)."""
    n, cycle, run_seed = config.envs, config.seed_cycle, config.seed
    venv = AllocationVectorEnv(n, config.scenario,
                               seed_stream=lambda _base, i, j: cycle.seed(run_seed, first_episode + j, i, n),
                               action_mode=config.action_mode, residual_around=config.residual_around)
    return AllocationSb3VecEnv(venv)


def _subproc_vec_env(config: TrainConfig, first_episode: int) -> VecEnv:
    """One single env per worker process (``DummyVecEnv`` for one), forked where the platform can, so
    the workers are our children and die with us (``allocsim.core.processes``)."""
    n = config.envs
    mode = {"action_mode": config.action_mode, "residual_around": config.residual_around}
    cycle, seed = config.seed_cycle, config.seed
    factories = [env_factory(config.scenario, cycle, seed, i, n, first_episode, mode) for i in range(n)]
    return DummyVecEnv(factories) if n == 1 else SubprocVecEnv(factories, pool_context().get_start_method())


#: How ``allocsim train --vec`` lays out the ``n_envs`` copies.
VECTORIZATIONS: dict[str, Callable[[TrainConfig, int], VecEnv]] = {
    "native": _native_vec_env,
    "subproc": _subproc_vec_env,
}


def make_vec_env(config: TrainConfig, first_episode: int = 0) -> VecEnv:
    return VECTORIZATIONS[config.vectorization](config, first_episode)


def _tensorboard_dir(run_dir: Path) -> str | None:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return None
    return str(run_dir / runfiles.TENSORBOARD)


def _check_resume(config: TrainConfig, run_dir: Path, scenario: Any) -> dict[str, Any]:
    """The saved config of the run to resume; ValueError when it was trained differently."""
    saved = runfiles.read_config(run_dir)
    for key in ("algo", "seed", "n_envs", "action_mode"):
        mine = config.envs if key == "n_envs" else getattr(config, key)
        if saved.get(key, "shares" if key == "action_mode" else None) != mine:
            raise ValueError(f"--resume: {run_dir} was trained with {key}={saved.get(key)}, not {mine}")
    if saved.get("scenario_hash", scenario.content_hash()) != scenario.content_hash():
        raise ValueError(f"--resume: {run_dir} was trained on another version of {scenario.name!r} "
                         f"(hash {saved['scenario_hash']}, now {scenario.content_hash()})")
    if "hyperparams" in saved:
        before = Hyperparams.model_validate(saved["hyperparams"]).model_dump(exclude_none=True)
        now = config.hyperparams.model_dump(exclude_none=True)
        keys = (before.keys() | now.keys()) - {"n_timesteps"}  # the budget may grow on resume
        changed = sorted(k for k in keys if before.get(k) != now.get(k))
        if changed:
            raise ValueError(f"--resume: {run_dir} was trained with other hyperparameters "
                             f"({', '.join(changed)} differ); choose another --out")
    return saved


def finished_timesteps(config: TrainConfig, scenario: Any) -> int | None:
    """The timesteps of the run at ``config.run_dir`` when it already has its planned steps (a resume
    has nothing to do), else None. Cheap: read before any preparation. ValueError when the folder's
    run was trained differently (``--resume`` cannot continue it)."""
    run_dir = config.run_dir(scenario.name)
    if not (run_dir / runfiles.MODEL).is_file():
        return None
    _check_resume(config, run_dir, scenario)
    done = int(runfiles.read_progress(run_dir)["timesteps"])
    return done if done >= config.planned else None


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    evaluator: Evaluator | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train (or, with ``resume``, continue) the run; the run folder, timesteps done and metrics rows.

    ``on_note`` hears what a long step before learning is doing (a warm start, a residual search);
    ``on_phase`` hears when an on-policy update between rollouts starts and ends
    (``callbacks.ProgressCallback``).

    ValueError when the folder already holds a run and ``resume`` is off, or when
    ``resume`` is on and the folder's config does not match.
    """
    import time

    trainer = algorithm(config.algo).train_function()  # an algorithm that is not SB3's learn loop (dcl)
    if trainer is not None:
        return trainer(config, resume=resume, evaluator=evaluator, on_progress=on_progress,  # type: ignore[no-any-return]
                       on_note=on_note)
    started = time.perf_counter()
    torch.set_num_threads(1)
    scenario = load_scenario(config.scenario)
    spec = algorithm(config.algo)
    hp = config.hyperparams
    hp.check_for(spec)
    run_dir = config.run_dir(scenario.name)
    has_model = (run_dir / runfiles.MODEL).is_file()
    runfiles.refuse_taken(run_dir, resume)
    progress = runfiles.read_progress(run_dir) if resume and has_model else {"timesteps": 0, "done": False}
    done = int(progress["timesteps"])
    saved = _check_resume(config, run_dir, scenario) if resume and has_model else {}
    planned = config.planned
    if done >= planned:
        return TrainResult(run_dir, done, 0.0, runfiles.read_metrics(run_dir), skipped=True)
    clash = hp.start_conflict(str(config.action_mode))
    if not done and clash:
        raise ValueError(f"action_mode {config.action_mode}: {clash}; train in that mode or use "
                         "hyperparameters without the start fit")
    if not done and hp.warm_start is not None and config.teacher is None:
        raise ValueError("warm_start needs a teacher rule (the rule to clone); allocsim train, allocsim "
                         "results and sweep train entries give the reference rule")

    run_dir.mkdir(parents=True, exist_ok=True)
    written = {**config.to_yaml(scenario.name), "scenario_hash": scenario.content_hash(),
               "demand_stream": DEMAND_STREAM}
    for fit in ("warm_start_fit", "residual_start_fit"):
        if fit in saved:
            written[fit] = saved[fit]
    runfiles.write_config(run_dir, written)
    set_random_seed(config.seed)
    exact = bool(done) and resume_state.saved_timesteps(run_dir) == done
    # an exact resume restores each copy's place in its seed stream; else copies start afresh
    venv = make_vec_env(config, 0 if exact else math.ceil(done / config.envs / scenario.periods))
    try:
        norm = hp.normalize_kwargs()
        stats_path = run_dir / runfiles.VECNORMALIZE
        if done and norm is not None and stats_path.is_file():  # restored without unpickling code
            saved_norm = read_normalization(stats_path)
            saved_norm.set_venv(venv)
            venv = saved_norm
            venv.training = True
        elif norm is not None:
            venv = VecNormalize(venv, **norm)
        tb = _tensorboard_dir(run_dir)
        if done:
            model = load_model(spec, run_dir / runfiles.MODEL, runfiles.read_config(run_dir),
                               (venv.observation_space, venv.action_space), env=venv, device="cpu",
                               tensorboard_log=tb)
            if exact and not resume_state.restore(run_dir, model):
                raise ValueError(f"--resume: the checkpoint files in {run_dir} are of different timesteps "
                                 "(killed while saving?); resume from a copy of best/ or start afresh")
        else:
            policy, network_kwargs = sb3_policy(spec, hp.policy, lambda: AllocationEnv(
                scenario, action_mode=config.action_mode, residual_around=config.residual_around))
            model = spec.cls(
                policy, venv, seed=config.seed, device="cpu", verbose=0, tensorboard_log=tb,
                policy_kwargs={**hp.policy_kwargs.to_sb3(), **network_kwargs}, **hp.algo_kwargs(),
            )
            say = on_note or (lambda _line: None)
            if hp.warm_start is not None and config.teacher is not None:
                say(f"warm start: cloning the reference rule on {hp.warm_start.episodes} episodes "
                    "(once, before learning)")
                seeds = config.start_seeds(hp.warm_start.episodes)
                written["warm_start_fit"] = with_heartbeat(say, "warm-starting", lambda: warm_start(
                    model, venv, config.scenario, config.teacher, seeds, hp.warm_start, config.seed, say=say))
                runfiles.write_config(run_dir, written)
            if hp.residual_start is not None:
                say(f"residual start: searching the best constant residual action on "
                    f"{hp.residual_start.episodes} episodes (once, before learning; about a minute)")
                written["residual_start_fit"] = with_heartbeat(say, "searching the residual start", lambda: (
                    residual_start(model, scenario, config.start_seeds(hp.residual_start.episodes),
                                   config.residual_around, hp.residual_start)))
                runfiles.write_config(run_dir, written)
        # rows past the checkpoint resumed from were written by a run killed before its progress.json
        metrics = [r for r in runfiles.read_metrics(run_dir) if int(r["timesteps"]) <= done] if done else []
        wall_before = float(metrics[-1].get("wall_seconds") or 0.0) if metrics else 0.0

        # A checkpoint is save() then record(row); progress.json, written last, commits it: a run
        # killed before that resumes from the checkpoint before (resume_state explains why).
        def save() -> None:
            resume_state.save(run_dir, model)
            runfiles.atomic_write(run_dir / runfiles.MODEL, lambda tmp: model.save(tmp))
            if isinstance(venv, VecNormalize):
                runfiles.atomic_write(stats_path, lambda tmp: venv.save(str(tmp)))

        def record(row: dict[str, Any]) -> None:
            metrics.append({**row, "wall_seconds": round(wall_before + time.perf_counter() - started, 2)})
            if "val_profit" in row and float(row["val_profit"]) > runfiles.best_profit(run_dir):
                runfiles.keep_best(run_dir, float(row["val_profit"]), int(row["timesteps"]))
            runfiles.write_metrics(run_dir, metrics)
            runfiles.write_progress(run_dir, model.num_timesteps, model.num_timesteps >= planned)

        rollout = config.collection
        every = config.eval_every or max(rollout, planned // 10)
        kpis = EpisodeKpiCallback()
        checkpoint = CheckpointCallback(every, save, record, kpis, evaluator,
                                        name=f"{spec.name}:{run_dir.name}", recurrent=spec.recurrent,
                                        at_start=not done and hp.starts_from_a_fit)
        phases = None if spec.off_policy else on_phase  # off-policy updates are short, after every step
        reporter = [ProgressCallback(on_progress, planned, on_phase=phases)] if on_progress else []
        callbacks = [kpis, checkpoint, *reporter]
        model.learn(
            total_timesteps=planned - done, callback=CallbackList(callbacks),
            reset_num_timesteps=not done, tb_log_name="run", progress_bar=False,
        )
        checkpoint.checkpoint()
    finally:
        venv.close()
    return TrainResult(run_dir, model.num_timesteps, time.perf_counter() - started, metrics)
