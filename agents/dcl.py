"""Deep Controlled Learning (``allocsim train --algo dcl``): approximate policy iteration from rollouts.

DCL (Temizoz et al., EJOR 2025; DynaPlex ships it next to PPO) repeats, one generation at a time:
play the current policy to sample states; at each state compare candidate actions by batched
rollouts from copies of the state with common random numbers, and label the best
(``allocsim.agents.dcl_label``); fit the network to the labels (``allocsim.agents.dcl_steps``).

Here the policy acts in ``targets`` or ``residual`` mode and starts from the searched constant
residual action (``residual_start`` in the hyperparameters) or else from tuned base-stock written as
an action of the mode. The network is the actor of an SB3 PPO policy (the policy class and
``policy_kwargs`` come from the hyperparameters; ``policy: shared-locations``, one network shared
across locations, starts from tuned base-stock, the zero residual action), fitted by regression onto
the labels and saved as a PPO ``model.zip`` whose deterministic action is the DCL policy:
``allocsim evaluate --model``, ``export`` and ``infer`` treat it as they treat PPO. Observations are
normalised by statistics of the start policy's first sampling episodes, frozen for the run
(``vecnormalize.pkl``; a shared network reads them raw).

Budget: a generation labels ``n_envs`` x ``n_steps`` states (one sampling episode per copy), and
the run's "timesteps" are labelled states, so ``n_timesteps`` / (``n_envs`` x ``n_steps``) is the
number of generations. The start policy is kept as a run folder of its own, ``<run>/start``.
After the start (timesteps 0) and after every generation the policy is
validated, saved and a ``metrics.csv`` row written (``env_steps`` there counts every simulated
period, rollouts included); ``best/`` keeps the best validated generation. A generation is the unit
of ``--resume``: all it draws is keyed by (run seed, generation), so a resumed run ends
bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecNormalize

from allocsim.agents import runfiles
from allocsim.agents.algorithms import algorithm
from allocsim.agents.callbacks import Evaluator
from allocsim.agents.dcl_label import ActorPolicy, Labeller, base_stock_variants
from allocsim.agents.dcl_params import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_LEARNING_RATE, DclParams
from allocsim.agents.dcl_steps import fit_actor, generation_seed, label_states, sample_states
from allocsim.agents.policies import sb3_policy
from allocsim.agents.policy import LearnedPolicy, ObsNormalizer
from allocsim.agents.residual_search import residual_start, start_from
from allocsim.agents.safe_load import load_model, read_normalization
from allocsim.agents.training import TrainConfig, TrainResult, _check_resume
from allocsim.agents.vec_env import AllocationSb3VecEnv
from allocsim.core.heartbeat import with_heartbeat
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.envs.scenario import load_scenario
from allocsim.envs.vector_env import AllocationVectorEnv

#: The action modes DCL trains in (its candidates are order-up-to parameters).
DCL_MODES = ("residual", "targets")
#: The run's sub-folder holding the start policy (a run folder of its own).
START = "start"
#: Seconds between progress reports while labelling.
REPORT_EVERY_S = 0.25


def _checked(config: TrainConfig) -> None:
    """ValueError naming what DCL cannot train with."""
    if config.action_mode not in DCL_MODES:
        raise ValueError(f"dcl trains in action mode residual or targets (its candidates are order-up-to "
                         f"parameters), not {config.action_mode}; pass --action-mode residual")
    if config.hyperparams.warm_start is not None:
        raise ValueError("dcl starts from the searched residual action or tuned base-stock; warm_start "
                         "(shares mode) is for PPO")
    if config.vectorization != "native":
        raise ValueError("dcl samples states on the native vector env; leave out --vec subproc")


def _normalizer(config: TrainConfig, venv: AllocationSb3VecEnv, observations: np.ndarray,
                path: Path) -> ObsNormalizer | None:
    """Statistics of ``observations`` as a VecNormalize file at ``path`` (None: no normalisation)."""
    kwargs = config.hyperparams.normalize_kwargs()
    if kwargs is None or not kwargs.get("norm_obs", True):
        return None
    wrapper = VecNormalize(venv, training=False, **{**kwargs, "norm_reward": False})
    data = observations.astype(np.float64)
    wrapper.obs_rms.mean, wrapper.obs_rms.var = data.mean(axis=0), data.var(axis=0)
    wrapper.obs_rms.count = float(len(data))
    runfiles.atomic_write(path, lambda tmp: wrapper.save(str(tmp)))
    return ObsNormalizer.of(wrapper)


def _keep_start(run_dir: Path, written: dict[str, Any]) -> None:
    """The start policy as a run folder of its own (``<run>/start``: ``evaluate --model``, ``export``),
    so what DCL adds over its start can be measured on the same seeds."""
    start = run_dir / START
    start.mkdir(exist_ok=True)
    runfiles.write_config(start, written)
    for name in (runfiles.VECNORMALIZE, runfiles.MODEL):
        if (run_dir / name).is_file():
            runfiles.atomic_write(start / name, lambda tmp, src=run_dir / name: shutil.copyfile(src, tmp))
    runfiles.write_progress(start, 0, True)


def _fresh_model(config: TrainConfig, venv: AllocationSb3VecEnv, scenario: Any, rules: np.ndarray,
                 written: dict[str, Any], say: Callable[[str], None]) -> PPO:
    """A PPO model whose actor starts at the searched residual action, else at tuned base-stock."""
    hp = config.hyperparams
    policy, network_kwargs = sb3_policy(algorithm(config.algo), hp.policy, lambda: AllocationEnv(
        scenario, action_mode=config.action_mode, residual_around=config.residual_around))
    model = PPO(policy, venv, seed=config.seed, device="cpu", verbose=0,
                policy_kwargs={**hp.policy_kwargs.to_sb3(), **network_kwargs}, **hp.algo_kwargs())
    if hp.residual_start is not None:
        say(f"residual start: searching the best constant residual action on {hp.residual_start.episodes} "
            "episodes (once, before learning; about a minute)")
        written["residual_start_fit"] = with_heartbeat(say, "searching the residual start", lambda: (
            residual_start(model, scenario, config.start_seeds(hp.residual_start.episodes),
                           config.residual_around, hp.residual_start)))
    else:
        start_from(model.policy, rules[0])
        written["rule_start"] = [round(float(a), 6) for a in rules[0]]
    return model


def train_dcl(config: TrainConfig, *, resume: bool = False, evaluator: Evaluator | None = None,
              on_progress: Callable[[int], None] | None = None,
              on_note: Callable[[str], None] | None = None) -> TrainResult:
    """Train (or, with ``resume``, continue) a DCL run; the run folder, labelled states and metrics rows.

    ValueError as ``allocsim.agents.training.train``, and for a mode or start DCL cannot take.
    """
    started = time.perf_counter()
    torch.set_num_threads(1)
    scenario = load_scenario(config.scenario)
    hp = config.hyperparams
    hp.check_for(algorithm(config.algo))
    _checked(config)
    params = hp.dcl or DclParams()
    run_dir = config.run_dir(scenario.name)
    has_model = (run_dir / runfiles.MODEL).is_file()
    runfiles.refuse_taken(run_dir, resume)
    loaded = has_model and resume
    saved = _check_resume(config, run_dir, scenario) if loaded else {}
    done = int(runfiles.read_progress(run_dir)["timesteps"]) if loaded else 0
    planned, per_generation = config.planned, config.collection
    if loaded and done >= planned:
        return TrainResult(run_dir, done, 0.0, runfiles.read_metrics(run_dir), skipped=True)
    say = on_note or (lambda _line: None)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = {**config.to_yaml(scenario.name), "scenario_hash": scenario.content_hash(),
               "demand_stream": DEMAND_STREAM}
    written.update({k: saved[k] for k in ("residual_start_fit", "rule_start") if k in saved})
    runfiles.write_config(run_dir, written)
    set_random_seed(config.seed)

    cycle, run_seed, n = config.seed_cycle, config.seed, config.envs
    mode_args = {"action_mode": config.action_mode, "residual_around": config.residual_around}
    venv = AllocationVectorEnv(n, config.scenario, **mode_args,
                               seed_stream=lambda base, i, j: cycle.seed(run_seed, base + j, i, n))
    sb3_venv = AllocationSb3VecEnv(venv)
    single = AllocationEnv(scenario, **mode_args)
    rules = base_stock_variants(single.action_mode, config.extra.get("base_stock") or config.residual_around,
                                params.spread)
    stats_path = run_dir / runfiles.VECNORMALIZE
    if loaded:
        model = load_model(algorithm(config.algo), run_dir / runfiles.MODEL, runfiles.read_config(run_dir),
                           (sb3_venv.observation_space, sb3_venv.action_space), device="cpu")
        normalizer = ObsNormalizer.of(read_normalization(stats_path)) if stats_path.is_file() else None
        if model.num_timesteps != done:
            raise ValueError(f"--resume: {run_dir}'s model is of {model.num_timesteps} labelled states, its "
                             f"progress of {done} (killed while saving?); resume from a copy of best/ or "
                             "start afresh")
    else:
        model = _fresh_model(config, sb3_venv, scenario, rules, written, say)
        runfiles.write_config(run_dir, written)
        normalizer = None
    actor = ActorPolicy(model.policy, single.action_mode, normalizer)
    labeller = Labeller(single, actor, params, rules)
    metrics = [r for r in runfiles.read_metrics(run_dir) if int(r["timesteps"]) <= done] if loaded else []
    wall_before = float(metrics[-1].get("wall_seconds") or 0.0) if metrics else 0.0
    env_steps = int(float(metrics[-1].get("env_steps") or 0)) if metrics else 0
    name = f"dcl:{run_dir.name}"

    def checkpoint(row: dict[str, Any]) -> None:
        """Validate, save the model, append the row; progress.json last (it commits the checkpoint)."""
        model.num_timesteps = int(row["timesteps"])
        if evaluator is not None:
            say(f"validating the policy of generation {row['generation']}")
            row.update(evaluator(LearnedPolicy(model, actor.normalizer, name=name).fresh))
        runfiles.atomic_write(run_dir / runfiles.MODEL, lambda tmp: model.save(tmp))
        metrics.append({**row, "wall_seconds": round(wall_before + time.perf_counter() - started, 2)})
        if "val_profit" in row and float(row["val_profit"]) > runfiles.best_profit(run_dir):
            runfiles.keep_best(run_dir, float(row["val_profit"]), int(row["timesteps"]))
        runfiles.write_metrics(run_dir, metrics)
        if int(row["timesteps"]) == 0:
            _keep_start(run_dir, written)
        runfiles.write_progress(run_dir, int(row["timesteps"]), int(row["timesteps"]) >= planned)

    reported = [done, time.monotonic()]

    def advance(states: int) -> None:
        if on_progress is not None and (time.monotonic() - reported[1] >= REPORT_EVERY_S or states == 0):
            now = min(states, planned)
            if now > reported[0]:
                on_progress(now - reported[0])
                reported[0] = now
            reported[1] = time.monotonic()

    if on_progress is not None and done:
        on_progress(done)
    generations = planned // per_generation
    for g in range(done // per_generation, generations):
        began = time.perf_counter()
        say(f"generation {g + 1}/{generations}: playing the policy on {n} training episodes")
        sample = sample_states(venv, actor, g, per_generation // n, generation_seed(run_seed, g))
        if not loaded and g == 0:
            actor.normalizer = _normalizer(config, sb3_venv, sample.all_observations, stats_path)
            sample.actions = actor.actions(sample.observations)
            checkpoint({"timesteps": 0, "generation": 0, "env_steps": 0,
                        "train_profit": float(np.nanmean(sample.profits)),
                        "train_fill_rate": float(np.nanmean(sample.fill_rates))})
        say(f"generation {g + 1}/{generations}: labelling {len(sample.states)} states "
            f"({labeller.candidates} candidates x {params.samples} futures x {params.horizon} periods)")
        first = g * per_generation
        labels = label_states(labeller, sample, run_seed, g, lambda k, at=first: advance(at + k + 1))
        labelled = time.perf_counter()
        loss = fit_actor(actor, sample.observations, labels.actions, hp.n_epochs or DEFAULT_EPOCHS,
                         hp.batch_size or DEFAULT_BATCH_SIZE, hp.learning_rate or DEFAULT_LEARNING_RATE,
                         generation_seed(run_seed, g, 2))
        env_steps += sample.periods + labels.periods
        advance((g + 1) * per_generation)
        checkpoint({"timesteps": (g + 1) * per_generation, "generation": g + 1, "env_steps": env_steps,
                    "train_episodes": n, "train_profit": float(np.nanmean(sample.profits)),
                    "train_fill_rate": float(np.nanmean(sample.fill_rates)),
                    "relabelled": round(labels.relabelled / len(sample.states), 4),
                    "label_gain": round(labels.mean_gain, 4), "fit_loss": loss,
                    "label_seconds": round(labelled - began, 2),
                    "generation_seconds": round(time.perf_counter() - began, 2)})
    venv.close()
    return TrainResult(run_dir, planned, time.perf_counter() - started, metrics)
