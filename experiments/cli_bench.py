"""``allocsim bound`` and the run of ``allocsim benchmark`` once its folder is held (registered on
the main app by ``register(app)``; the heavy imports happen inside)."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from allocsim.experiments.history_fit_time import history_fit_time
from allocsim.experiments.json_out import echo_json
from allocsim.experiments.option_limits import MAX_EPISODES, MAX_SEED, MAX_WORKERS
from allocsim.experiments.seeds import seed_block

if TYPE_CHECKING:
    from allocsim.envs.scenario import Scenario


def register(app: typer.Typer) -> None:
    app.command("bound")(bound_command)


def benchmark_into(target: Path, created: bool, loaded: Scenario, seeds: list[int], specs: list[Any],
                  learned: list[Any], sources: dict[str, Any], n_workers: int, warm_up: int, bound: bool,
                  tuned_dir: Path, digest: str = "") -> None:
    """The benchmark into ``target`` (held): run, keeping each finished episode there (the manifest
    marks the run unfinished until its files are whole), write, print table and report path."""
    from allocsim.experiments.cli import _compile_first, _fail, _progress, _say, console
    from allocsim.experiments.policy_specs import source_lines
    from allocsim.experiments.portable_paths import portable

    console.print("parameters:", highlight=False)  # said before pandas, SciPy and matplotlib load
    for line in source_lines(sources) + [f"learned: {s.label} ({s.model})" for s in learned]:
        # no folder of this machine, as in the report; a long list continues indented, a path unbroken
        console.print(textwrap.fill(portable(line), max(console.width, 20), initial_indent="  ",
                                    subsequent_indent="    ", break_long_words=False, break_on_hyphens=False),
                      highlight=False, soft_wrap=True)
    from allocsim.experiments.episode_store import DONE, EpisodeStore
    from allocsim.experiments.interrupt import Counter, benchmark_kept, interruptible
    from allocsim.experiments.run_folder import write_manifest
    from allocsim.experiments.waits import (
        fit_lagrangian_first,
        fit_penalty_first,
        history_first,
        warm_bound,
        warm_rules,
    )

    episodes = len(seeds)
    started = time.perf_counter()
    bounded = bound and not warm_up
    count = Counter()
    store = EpisodeStore(target)
    labels = [s.label for s in specs]
    write_manifest(target, "benchmark", [DONE], scenario=loaded.name, digest=digest, complete=False)
    steps = {"total": 0}  # known once the benchmark's module is loaded, after the compile note
    with interruptible(lambda: benchmark_kept(count.done, steps["total"], target, created, labels, seeds)):
        first_run = _compile_first(loaded)  # said before pandas and SciPy load (3 s on a busy machine)
        warm_rules(loaded, specs, _say, first_run)
        from allocsim.experiments.benchmark import progress_total, run_benchmark, write_outputs
        from allocsim.experiments.tables import benchmark_table

        total = steps["total"] = progress_total(loaded, specs, learned, episodes, bounded)
        if bounded:
            fit_penalty_first(loaded, _say)
            if not fit_lagrangian_first(loaded, _say):  # a fit compiles the bound's kernels itself
                warm_bound(loaded, seeds[0], _say, first_run)
            history_first(loaded, _say)  # from shipped or cached prices, else skipped in one line
        setup = time.perf_counter() - started  # the report's wall time starts after it: said there
        phases: list[Callable[[str], None]] = []

        def writing() -> None:  # said once, then the heartbeat's "what it is doing" until the page is out
            _say(f"writing the report, plots and CSVs into {target}")
            for phase in phases:
                phase("writing the report, plots and CSVs")

        with _progress(total, f"benchmark {loaded.name}", phases=phases, kept=store.count()) as advance:
            count = Counter(advance)
            result = run_benchmark(
                loaded, seeds, policies=[s.name for s in specs if not s.model], tuned_dir=tuned_dir,
                models=learned, n_workers=n_workers, warm_up=warm_up, on_done=count, bound=bounded,
                store=store, before_figures=writing,
            )
    result.info = replace(result.info, setup_seconds=setup)
    try:
        written = write_outputs(result, target)
        write_manifest(target, "benchmark", written, scenario=loaded.name, digest=digest, complete=True)
        store.remove()
    except OSError as err:
        raise _fail(f"cannot write to {target}: {err.strerror or err}") from None
    title = f"{loaded.name} · {episodes} episode(s) per rule on seeds {seeds[0]}..{seeds[-1]}"
    title += " · events mode" if loaded.timing.mode == "events" else ""
    console.print(benchmark_table(result.summary, title, currency=loaded.currency,
                                  interval=result.info.interval))
    print_verdict(console, result, loaded.currency)
    console.print(
        f"report: {target / 'report.html'}  ({time.perf_counter() - started:.1f} s, {n_workers} worker(s))",
        highlight=False, soft_wrap=True,  # a path is never folded mid-name
    )



def bound_command(
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    episodes: Annotated[int, typer.Option(min=1, max=MAX_EPISODES, help="seeds to bound")] = 5,
    seed: Annotated[
        int | None,
        typer.Option(min=0, max=MAX_SEED,
                     help="first seed: seeds K, K+1, ... [default: start of the test block]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, max=MAX_WORKERS, help="worker processes [default: CPU count]")
    ] = None,
    dp_table: Annotated[
        Path | None, typer.Option(help="write the DP's optimal policy table to this CSV (DP scenarios only)")
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="fit the history-priced Lagrangian bound's prices where none "
                           f"are shipped or cached (a one-off fit: {history_fit_time()})")
    ] = False,
) -> None:
    """How far from the best possible: DP optimum (tiny scenarios) and clairvoyant bound per seed."""
    from allocsim.experiments.bounds import bound_report, dp_value, write_dp_table
    from allocsim.experiments.cli import _compile_first, _fail, _load, _say, console, errors
    from allocsim.experiments.progress import RunProgress
    from allocsim.experiments.seeds import seed_range
    from allocsim.experiments.tables import bound_summary, bound_table

    loaded = _load(scenario)
    try:
        seeds = seed_range(seed if seed is not None else seed_block("test").start, episodes)
    except ValueError as err:
        raise _fail(str(err)) from None
    if dp_table is not None and dp_value(loaded).note is not None:
        raise _fail(str(dp_value(loaded).note))
    started = time.perf_counter()
    from allocsim.experiments.waits import (
        fit_history_first,
        fit_lagrangian_first,
        fit_penalty_first,
        history_first,
    )

    _compile_first(loaded)
    fit_penalty_first(loaded, _say)
    fit_lagrangian_first(loaded, _say)
    if history:
        fit_history_first(loaded, _say)
    else:
        history_first(loaded, _say)  # shipped or cached prices, else said and left out
    with RunProgress(len(seeds), f"bound {loaded.name}", unit="seeds", out=errors if as_json else console,
                     every_s=10.0) as progress:
        report = bound_report(loaded, seeds, workers, on_done=progress.advance, history=history,
                              phase=progress.phase)
    summary = bound_summary(report, time.perf_counter() - started)
    if dp_table is not None:
        try:
            states = write_dp_table(loaded, dp_table)
        except OSError as err:
            raise _fail(f"cannot write {dp_table}: {err.strerror or err}") from None
    if as_json:
        echo_json(report)
        errors.print(summary, highlight=False)  # wrapped at spaces: numbers stay whole
        return
    console.print(bound_table(report))
    if dp_table is not None:
        console.print(f"DP policy table ({states} states) written to {dp_table}", highlight=False)
    console.print(summary, highlight=False)  # wrapped at spaces: numbers stay whole


def print_verdict(out: Any, result: Any, currency: str) -> None:
    """The verdict on ``out`` (a rich Console), folded at spaces at its width: an 80-column terminal
    would otherwise break its 150-200 characters mid-word."""
    out.print(verdict_line(result, currency), highlight=False)


def verdict_line(result: Any, currency: str) -> str:
    """``verdict: Use base-stock. It earns ...``: the report's recommendation in its first sentences."""
    from allocsim.experiments.recommendation import recommend

    sentences = recommend(result.summary, result.rows, result.info.periods).sentences(currency)
    more = " The report says why." if len(sentences) > 2 else ""
    return "verdict: " + " ".join(sentences[:2]) + more
