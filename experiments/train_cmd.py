"""``allocsim train`` behind the CLI: learned policies judged against tuned rules.

Training (``allocsim.agents.training``) knows nothing of rules or seed blocks; this
module supplies both. The reference rule is the best tuned rule (highest tuned
profit in ``<tuned-dir>/<scenario>/``; without tuned files, the best rule on the
validation seeds). At every checkpoint the learned policy plays the same
validation seeds and the paired profit difference (learned - rule) with its 95%
CI is logged (``profit_vs_rule``) to TensorBoard and ``metrics.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from allocsim.agents.callbacks import Evaluator
from allocsim.agents.hyperparams import entry_label, load_hyperparams, mode_for
from allocsim.agents.policy import LearnedPolicy
from allocsim.agents.training import SeedCycle, TrainConfig
from allocsim.baselines.base_stock import BaseStockParams
from allocsim.baselines.registry import best_tuned_rule, is_tuned_rule
from allocsim.baselines.tuned_params import find_tuned
from allocsim.envs.action_modes import mode_class
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import (
    PolicySpec,
    build_policy,
    env_for,
    evaluate,
    run_episode,
    summarise,
)
from allocsim.experiments.policy_specs import rule_specs
from allocsim.experiments.seeds import seed_block
from allocsim.experiments.stats import paired_diff
from allocsim.experiments.waits import compile_first


def best_rule(
    scenario: Scenario, tuned_dir: Path, seeds: Sequence[int], n_workers: int = 1, name: str | None = None
) -> PolicySpec:
    """The reference rule: ``name`` (tuned parameters if any), else the best tuned rule.

    The rule sets played by default (sp-mpc, slow, only as ``name``) are ranked by the ``profit_mean``
    of their tuning files; when no rule has one, they play ``seeds``; ``best_tuned_rule`` picks the
    winner (random and hold never).
    """
    specs, _ = rule_specs(scenario, [name] if name else None, tuned_dir)
    if name:  # a named reference may also be a non-rule policy such as the exact DP (a teacher to clone)
        return specs[0]
    specs = [s for s in specs if is_tuned_rule(s.name)]
    if len(specs) == 1:
        return specs[0]
    scores: dict[str, float] = {}
    for spec in specs:
        tuned = find_tuned(scenario, spec.name, tuned_dir)
        if tuned is not None and tuned.profit_mean is not None:
            scores[spec.name] = tuned.profit_mean
    if not scores:
        rows = evaluate(scenario, specs, seeds, n_workers=n_workers)
        for spec in specs:
            profits = [r["profit"] for r in rows if r["policy"] == spec.label]
            scores[spec.name] = sum(profits) / len(profits)
    best = best_tuned_rule(scores)
    return next(s for s in specs if s.name == best)


def rule_evaluator(
    scenario: Scenario, rule: PolicySpec, seeds: Sequence[int], n_workers: int = 1,
    mode: Mapping[str, Any] | None = None,
) -> Evaluator:
    """An evaluator for training: the learned policy on ``seeds`` against ``rule`` (played once, now).

    ``mode`` (``action_mode``, ``residual_around``) is the env argument the policy was trained with.
    """
    rule_rows = evaluate(scenario, [rule], seeds, n_workers=n_workers)
    rule_profit = [float(r["profit"]) for r in rule_rows]
    rule_summary = summarise(rule_rows)

    def judge(make_policy: Callable[[], LearnedPolicy]) -> dict[str, float]:
        env = env_for(scenario, **(mode or {}))
        rows = [run_episode(env, make_policy(), seed) for seed in seeds]
        learned = summarise(rows)
        diff = paired_diff([float(r["profit"]) for r in rows], rule_profit)
        return {
            "val_profit": learned["profit"],
            "val_fill_rate": learned["fill_rate"],
            "rule_profit": rule_summary["profit"],
            "rule_fill_rate": rule_summary["fill_rate"],
            "profit_vs_rule": diff.mean,
            "profit_vs_rule_ci95": diff.half_width,
        }

    return judge


def watched(evaluator: Evaluator, on_result: Callable[[dict[str, float]], None]) -> Evaluator:
    """``evaluator`` that also hands each result to ``on_result`` (e.g. a progress display)."""

    def judge(make_policy: Callable[[], LearnedPolicy]) -> dict[str, float]:
        metrics = evaluator(make_policy)
        on_result(metrics)
        return metrics

    return judge


#: The metrics ``validation_note`` reads (``rule_evaluator``'s output).
VALIDATION = frozenset({"profit_vs_rule", "profit_vs_rule_ci95", "rule_profit"})


def validation_note(metrics: dict[str, float], rule: str) -> str:
    """``validation vs base-stock: -1,284 ± 135 profit (-0.28 %)``: the paired difference, for progress."""
    diff, half, base = metrics["profit_vs_rule"], metrics["profit_vs_rule_ci95"], metrics["rule_profit"]
    share = 100.0 * diff / abs(base) if base else float("nan")
    digits = 0 if abs(base) >= 1000 else 2
    return f"validation vs {rule}: {diff:+,.{digits}f} ± {half:,.{digits}f} profit ({share:+.2f} %)"


@dataclass(frozen=True)
class TrainingJob:
    """What ``allocsim train`` (and ``allocsim results``) asks for; None means the hyperparameters' value."""

    scenario: str
    algo: str = "ppo"
    seed: int = 0
    timesteps: int | None = None
    n_envs: int | None = None
    vectorization: str = "native"
    out: Path | None = None
    hyperparams: Path | None = None
    eval_every: int | None = None
    eval_episodes: int = 10
    rule: str | None = None
    tuned_dir: Path = Path("tuned")
    action_mode: str | None = None  # None: the hyperparameter entry's mode


def plan_training(job: TrainingJob, scenario: Scenario) -> TrainConfig:
    """The run config of ``job`` without its reference rule: the checks that cost nothing (hyperparameters,
    algorithm, action mode, a budget of at least one rollout) made before any expensive step.

    ValueError naming what is wrong.
    """
    hp = load_hyperparams(job.algo, scenario.name, job.hyperparams)
    action_mode = mode_for(job.action_mode, hp, entry_label(job.algo, scenario.name, job.hyperparams))
    block = seed_block("training")
    config = TrainConfig(
        scenario=job.scenario,
        algo=job.algo,
        seed=job.seed,
        hyperparams=hp,
        seed_cycle=SeedCycle(block.start, block.size),
        timesteps=job.timesteps,
        n_envs=job.n_envs,
        vectorization=job.vectorization,
        out=job.out,
        eval_every=job.eval_every,
        **action_mode_args(action_mode, scenario, job.tuned_dir),
    )
    config.planned  # noqa: B018 -- a budget below one rollout is refused here, not after the preparation
    return config


def prepare_training(
    job: TrainingJob, scenario: Scenario, n_workers: int, say: Callable[[str], None] | None = None,
    plan: TrainConfig | None = None,
) -> tuple[TrainConfig, Evaluator, PolicySpec]:
    """The run config (training seed block), the validation evaluator and the reference rule of ``job``.

    ``plan`` is ``plan_training(job, scenario)`` when the caller made it already. ValueError
    (HyperparamError, unknown algorithm or rule) naming what is wrong. ``say`` hears what the steps
    before training do (a one-off compile, the reference rule's episodes).
    """
    config = plan or plan_training(job, scenario)
    if say is not None:
        compile_first(scenario, say)
        say("preparing: the reference rule and its validation episodes")
    val_seeds = seed_block("validation").seeds(job.eval_episodes)
    mode = {"action_mode": config.action_mode, "residual_around": config.residual_around}
    reference = best_rule(scenario, job.tuned_dir, val_seeds, n_workers, job.rule)
    extra = {
        "reference_rule": {"name": reference.name, "params": dict(reference.params)},
        "validation_seeds": [val_seeds[0], val_seeds[-1]],
        **({"base_stock": tuned_base_stock(scenario, job.tuned_dir)}
           if config.action_mode != "shares" else {}),
    }
    config = replace(config, extra=extra, teacher=partial(build_policy, reference))
    return config, rule_evaluator(scenario, reference, val_seeds, n_workers, mode), reference


def action_mode_args(action_mode: str, scenario: Scenario, tuned_dir: Path) -> dict[str, Any]:
    """The env arguments of ``action_mode``: ``residual`` centres on the tuned base-stock parameters.

    ValueError naming a mode that does not exist.
    """
    try:
        mode_class(action_mode)
    except ValueError as err:
        raise ValueError(f"--action-mode: {err}") from None
    if action_mode != "residual":
        return {"action_mode": action_mode, "residual_around": None}
    return {"action_mode": action_mode, "residual_around": tuned_base_stock(scenario, tuned_dir)}


def tuned_base_stock(scenario: Scenario, tuned_dir: Path) -> dict[str, Any]:
    """Base-stock's tuned parameters (its defaults without a tuning file): the centre of ``residual``
    and DCL's rule candidates in ``targets``/``residual`` mode."""
    tuned = find_tuned(scenario, "base-stock", tuned_dir)
    return BaseStockParams(**(tuned.params if tuned is not None else {})).model_dump()
