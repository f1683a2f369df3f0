"""``allocsim train`` and ``allocsim evaluate``: registered on the main app by ``register(app)``.

Heavy imports (torch, stable-baselines3) happen inside the commands, so the rest
of the CLI starts fast; ``evaluate`` of an ONNX file never imports them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from allocsim.experiments.cli_options import TimingOption
from allocsim.experiments.json_out import echo_json
from allocsim.experiments.option_limits import MAX_ENVS, MAX_EPISODES, MAX_SEED, MAX_TIMESTEPS, MAX_WORKERS


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command("evaluate")(evaluate_command)
    app.command("results")(results_command)


def train(
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    algo: Annotated[
        str, typer.Option(help="ppo, a2c, sac, td3, recurrent-ppo or dcl (Deep Controlled Learning)")
    ] = "ppo",
    timesteps: Annotated[
        int | None, typer.Option(min=1, max=MAX_TIMESTEPS,
                                 help="total env steps [default: n_timesteps of the hyperparameters]")
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="training seed (network init, sampling, demand offset)")
    ] = 0,
    n_envs: Annotated[
        int | None, typer.Option(min=1, max=MAX_ENVS,
                                 help="copies of the world per rollout [default: hyperparameters]")
    ] = None,
    vec: Annotated[
        str, typer.Option(help="native: all copies in one compiled batch; subproc: one process per copy")
    ] = "native",
    out: Annotated[
        Path | None, typer.Option(help="run folder [default: runs/train/<scenario>-<algo>-seed<K>/]")
    ] = None,
    resume: Annotated[bool, typer.Option(help="continue from the run folder's last checkpoint")] = False,
    hyperparams: Annotated[
        Path | None, typer.Option(help="hyperparameter YAML, or the name of a packaged one (ppo-shared: one "
                                       "network shared across locations) [default: the packaged <algo>.yaml]")
    ] = None,
    eval_every: Annotated[
        int | None, typer.Option(min=1, max=MAX_TIMESTEPS,
                                 help="timesteps between evaluations/checkpoints [default: 1/10 run]")
    ] = None,
    eval_episodes: Annotated[
        int, typer.Option(min=1, max=MAX_EPISODES, help="validation episodes per evaluation")
    ] = 10,
    rule: Annotated[
        str | None,
        typer.Option(help="reference rule for the validation comparison and the rule a warm start clones "
                          "[default: best tuned]"),
    ] = None,
    tuned_dir: Annotated[Path, typer.Option(help="where tuned rule parameters are looked up")] = Path(
        "tuned"
    ),
    workers: Annotated[
        int | None, typer.Option(min=1, max=MAX_WORKERS, help="processes for the rule's episodes")
    ] = None,
    action_mode: Annotated[
        str | None,
        typer.Option(help="shares: allocation shares; targets: order-up-to levels in periods of cover; "
                          "residual: an adjustment around tuned base-stock (docs: Action modes) "
                          "[default: the hyperparameter entry's mode, else shares]"),
    ] = None,
) -> None:
    """Train an agent; checkpoints, metrics.csv and TensorBoard logs in the run folder; --resume continues."""
    from allocsim.agents.train_args import check_train_args
    from allocsim.envs.action_modes import mode_class
    from allocsim.experiments.cli import _fail, _load, _say, _workers, console
    from allocsim.experiments.waits import load_learning

    loaded = _load(scenario)
    try:  # a bad name is one line before torch loads (no note first)
        check_train_args(algo, vec, hyperparams)
        if action_mode is not None:
            try:
                mode_class(action_mode)
            except ValueError as err:
                raise ValueError(f"--action-mode: {err}") from None
    except ValueError as err:
        raise _fail(str(err)) from None
    load_learning(_say)  # 4-7 s on a cold start: said before it happens
    from allocsim.agents.runfiles import refuse_taken, resume_note, resumed_timesteps
    from allocsim.agents.training import finished_timesteps
    from allocsim.agents.training import train as run
    from allocsim.experiments.interrupt import interruptible, train_kept
    from allocsim.experiments.progress import RunProgress
    from allocsim.experiments.run_folder import hold
    from allocsim.experiments.train_cmd import (
        VALIDATION,
        TrainingJob,
        plan_training,
        prepare_training,
        validation_note,
        watched,
    )

    n_workers = _workers(workers)
    try:
        job = TrainingJob(scenario=scenario, algo=algo, seed=seed, timesteps=timesteps, n_envs=n_envs,
                          vectorization=vec, out=out, hyperparams=hyperparams, eval_every=eval_every,
                          eval_episodes=eval_episodes, rule=rule, tuned_dir=tuned_dir,
                          action_mode=action_mode)
        plan = plan_training(job, loaded)  # a bad option (a budget below one rollout) fails here, at once
        refuse_taken(plan.run_dir(loaded.name), resume)  # so does a run folder in use
        finished = finished_timesteps(plan, loaded) if resume else None
        if finished is not None:  # nothing to resume: said before any preparation
            console.print(f"{plan.run_dir(loaded.name)} already finished ({finished:,} timesteps)",
                          highlight=False)
            return
        config, evaluator, reference = prepare_training(job, loaded, n_workers, _say, plan)
        planned = config.planned
        if planned < config.total:
            console.print(f"training {planned:,} timesteps: the budget of {config.total:,} rounded down to "
                          f"whole rollouts of {config.collection:,}", highlight=False)
        started = time.perf_counter()
        run_dir = config.run_dir(loaded.name)
        note = resume_note(run_dir, planned) if resume else None
        if note is not None:
            _say(note)
        # a resumed run counts its earlier steps at once: they are not in its rate and ETA
        kept = resumed_timesteps(run_dir) if resume else 0
        with hold(run_dir, None), interruptible(lambda: train_kept(run_dir, planned)), \
                RunProgress(planned, f"train {algo} on {loaded.name}", out=console, kept=kept) as progress:
            progress.note(f"validation vs {reference.label}: pending")
            judged = watched(evaluator, lambda m: progress.note(validation_note(m, reference.label)))
            result = run(config, resume=resume, evaluator=judged, on_progress=progress.advance,
                         on_note=progress.note, on_phase=progress.phase)
    except ValueError as err:  # HyperparamError, unknown algorithm or rule, run folder in use, budget
        raise _fail(str(err)) from None
    if result.skipped:
        console.print(f"{result.run_dir} already finished ({result.timesteps} timesteps)", highlight=False)
        return
    last = result.metrics[-1] if result.metrics else {}
    elapsed = time.perf_counter() - started
    judged = ""
    if last.keys() >= VALIDATION:
        judged = "; last " + validation_note({k: float(last[k]) for k in VALIDATION}, reference.label)
    rate = (result.timesteps - kept) / max(elapsed, 1e-9)  # this command's steps, not a resume's earlier ones
    # the wall time holds the warm or residual start and the validations: the bar's rate is the env's
    steps = f"{result.timesteps:,} timesteps" if not kept else \
        f"{result.timesteps:,} timesteps ({result.timesteps - kept:,} since step {kept:,})"
    console.print(f"{steps} in {elapsed:.1f} s ({rate:,.0f} steps/s overall, "
                  f"start and validations included){judged}",
                  highlight=False, soft_wrap=not console.is_terminal)  # a terminal: folded between words
    console.print(f"run: {result.run_dir}", highlight=False)


def evaluate_command(
    model: Annotated[
        Path, typer.Option(help="training run folder (config.yaml, model.zip), .onnx file, or "
                                "pretrained:<algo> (the policy shipped with allocsim)")
    ],
    scenario: Annotated[
        str | None, typer.Option(help="preset name or scenario YAML [default: the run's scenario]")
    ] = None,
    episodes: Annotated[int, typer.Option(min=1, max=MAX_EPISODES, help="number of episodes")] = 20,
    seed: Annotated[
        int | None, typer.Option(min=0, max=MAX_SEED, help="first seed [default: start of the test block]")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="machine-readable output (as simulate --json)")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, max=MAX_WORKERS, help="worker processes [default: 1]")
    ] = None,
    timing: TimingOption = None,
) -> None:
    """Evaluate a trained policy (run folder or .onnx; neither runs code from the file) on the test seeds."""

    from allocsim.agents.pretrained import resolve_shipped
    from allocsim.core.error_text import shorten
    from allocsim.envs.scenario import load_scenario
    from allocsim.envs.scenario.timing import MODES
    from allocsim.experiments.cli import _fail, _load, _progress, _say, _workers, console
    from allocsim.experiments.seeds import seed_block, seed_range
    from allocsim.experiments.waits import load_learning

    loaded = _load(scenario, timing=timing) if scenario is not None else None
    try:
        model = resolve_shipped(model, scenario) or model
    except ValueError as err:
        raise _fail(str(err)) from None
    from allocsim.experiments.trained_model import evaluate_model, trained_scenario

    if loaded is None and Path(model).suffix == ".onnx":
        try:  # a card that names no preset is refused in one line, before the evaluation starts
            trained_scenario(model)
        except ValueError as err:
            raise _fail(str(err)) from None
    if Path(model).suffix != ".onnx":  # an ONNX file plays on the torch-free runtime: no PyTorch
        load_learning(_say)  # a run folder's model needs it: said before the wait

    try:
        if timing is not None and timing not in MODES:
            raise ValueError(f"--timing: expected {' or '.join(MODES)}, got {shorten(repr(timing), 80)}")
        seeds = seed_range(seed if seed is not None else seed_block("test").start, episodes)
        # a bar, not silence: 100 episodes of retail-small took 12.7 s after the note at load 7
        with _progress(episodes, f"evaluate {Path(str(model)).name}", transient=True,
                       unit="episodes") as advance:
            result = evaluate_model(model, loaded, seeds, n_workers=_workers(workers, 1), on_done=advance,
                                    timing=timing, say=_say)
    except ValueError as err:
        raise _fail(str(err)) from None
    if as_json:
        echo_json(result)
        return
    from allocsim.experiments.kpis import has_contracts
    from allocsim.experiments.tables import headline_table

    played = loaded or load_scenario(trained_scenario(model))
    what = f"{result['policy']} · {episodes} episode(s) from seed {seeds[0]}"
    console.print(headline_table(result, what, played.currency, has_contracts(played)))


def results_command(
    config: Annotated[Path, typer.Option(help="results config")] = Path("experiments/configs/results.yaml"),
    out: Annotated[Path, typer.Option(help="results folder")] = Path("results"),
    scenario: Annotated[
        list[str] | None, typer.Option(help="only this scenario of the config (repeatable)", metavar="NAME")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=MAX_WORKERS, help="evaluation processes [default: CPUs]")
    ] = None,
) -> None:
    """Train, export and benchmark the learned policies of the results table; resumable (make results)."""
    from allocsim.experiments.cli import _fail, _workers, console
    from allocsim.experiments.interrupt import interruptible, results_kept
    from allocsim.experiments.results import load_results_config, run_results
    from allocsim.experiments.run_folder import hold

    try:
        loaded = load_results_config(config)
        with hold(out, None), interruptible(lambda: results_kept(out)):
            path = run_results(loaded, out, scenario, _workers(workers),
                               lambda line: console.print(line, highlight=False))
    except ValueError as err:  # a bad config, or the folder in use by another run
        raise _fail(str(err)) from None
    typer.echo(path.read_text(encoding="utf-8"))
