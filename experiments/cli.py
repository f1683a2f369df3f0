"""The ``allocsim`` command: a thin layer over the Python API.

Exit codes: 0 on success, 2 on bad input with one line on stderr naming what is wrong.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from allocsim.baselines.registry import policy_names
from allocsim.core.error_text import shorten
from allocsim.core.limits import MAX_PERIODS
from allocsim.experiments.cli_errors import OneLineErrors, as_typed
from allocsim.experiments.cli_options import DEMAND_CSV_HELP, TimingOption
from allocsim.experiments.json_out import echo_json
from allocsim.experiments.option_limits import MAX_EPISODES, MAX_SEED, MAX_WORKERS
from allocsim.experiments.seeds import seed_block

if TYPE_CHECKING:  # the simulator, pandas and SciPy are imported inside the commands that need them
    from allocsim.envs.scenario import Scenario

class _App(typer.Typer):
    """The console script. After Ctrl-C (exit 130) it leaves at once: the command has said what it
    kept and writes nothing more, and a full interpreter teardown (torch, numba, pools) takes seconds.
    Any other exit freezes the garbage collector first: the teardown then frees by reference counts
    only, instead of collecting torch's millions of objects several times (1.4 s idle, 3-5 s under
    load after a command that loaded torch; 0.2 s frozen). Exit handlers and flushes still run."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except SystemExit as leaving:
            if leaving.code == 130:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(130)
            gc.freeze()
            raise


app = _App(add_completion=False, no_args_is_help=True, help=__doc__.replace("``", ""), rich_markup_mode=None,
           cls=OneLineErrors)
console = Console()
errors = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    """Print ``error: message`` (one line of at most 400 characters) on stderr; the exit to raise (code 2)."""
    typer.echo(f"error: {shorten(' '.join(message.split()), 393)}", err=True)
    return typer.Exit(code=2)


@app.command()
def simulate(
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    policy: Annotated[str, typer.Option(help=f"one of: {', '.join(policy_names())}")] = "random",
    episodes: Annotated[int, typer.Option(min=1, max=MAX_EPISODES, help="number of episodes")] = 5,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="first seed; episodes use seed, seed+1, ...")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    timing: TimingOption = None,
    tuned_dir: Annotated[
        Path, typer.Option(help="your tuned parameters (allocsim tune), looked up first, then the packaged "
                                "ones, as benchmark does")
    ] = Path("tuned"),
) -> None:
    """Run one policy on a scenario, on its tuned parameters as benchmark does, and print its KPIs."""
    from allocsim.baselines.tuned_params import lookup_tuned
    from allocsim.experiments.evaluation import PolicySpec, prepare
    from allocsim.experiments.evaluation import simulate as run

    if policy not in policy_names():
        raise _fail(f"unknown policy {policy!r}; valid: {', '.join(policy_names())}")
    loaded = _load(scenario, timing=timing)
    try:
        found = lookup_tuned(loaded, policy, tuned_dir)
        params = dict(found.tuned.params) if found.tuned is not None else {}
        prepare(loaded, [PolicySpec(policy, params)])  # a policy that refuses the scenario says so first
    except ValueError as err:  # ScenarioError, DemandCsvError, or a policy that refuses the scenario
        raise _fail(str(err)) from None
    _compile_first(loaded)
    try:
        result = {**run(loaded, policy, episodes, seed, params=params), "parameters_source": found.source}
    except ValueError as err:  # ScenarioError, DemandCsvError, or a policy that refuses the scenario
        raise _fail(str(err)) from None
    if as_json:
        echo_json(result)
        return
    from allocsim.experiments.kpis import has_contracts
    from allocsim.experiments.tables import headline_table  # pandas: not in the runtime-only install

    what = f"{policy} · {episodes} episode(s) from seed {seed}"
    console.print(headline_table(result, what, loaded.currency, has_contracts(loaded)))
    console.print(f"parameters: {result['parameters_source']}", highlight=False, markup=False, soft_wrap=True)


def _workers(requested: int | None, default: int | None = None) -> int:
    """Worker processes: ``requested``, else ``default``, else one per CPU core; more than the cores
    are capped with a warning (they only add memory and switching, never speed)."""
    cores = os.cpu_count() or 1
    chosen = requested or default or cores
    if requested is not None and requested > cores:
        errors.print(f"warning: --workers {requested} is more than the {cores} CPU core(s) here; "
                     f"using {cores} (more workers would only add memory and slow each other down)",
                     highlight=False, soft_wrap=True)
        return cores
    return chosen


TUNE_ROWS_SHOWN = 10  # grid points tune prints, best first (the winner is saved either way)
RESAMPLE_HELP = ("how seeds vary a demand history: block (moving-block bootstrap by week) or none "
                 "(every seed replays it as is) [default: the scenario's, block]")


def _load(scenario: str, demand_csv: Path | None = None, resample: str | None = None,
          timing: str | None = None) -> Scenario:
    """The scenario (preset or YAML), demand replayed from ``demand_csv`` if given, its timing mode
    set by ``timing`` if given; exit 2 if bad.

    With a history, one line on the console says how seeds resample it.
    """
    from allocsim.envs.demand import DemandCsvError
    from allocsim.envs.history_resample import describe
    from allocsim.envs.scenario import ScenarioError, load_scenario
    from allocsim.envs.scenario.timing import MODES
    from allocsim.experiments.evaluation import env_for

    try:
        if timing is not None and timing not in MODES:
            raise ScenarioError(f"--timing: expected {' or '.join(MODES)}, got {shorten(repr(timing), 80)}")
        loaded = load_scenario(scenario, timing)
        if resample is not None and resample not in ("block", "none"):
            raise ScenarioError(f"--resample: expected block or none, got {resample[:80]!r}")
        if resample is not None and demand_csv is None and loaded.demand.csv is None:
            raise ScenarioError("--resample needs a demand history (--demand-csv, or demand.csv in the YAML)")
        if demand_csv is not None or resample is not None:
            from allocsim.experiments.policy_specs import with_demand_csv

            loaded = with_demand_csv(loaded, demand_csv, resample)
        if loaded.demand.csv is not None:
            env_for(loaded)  # reads and checks the CSV now, in this process
    except (ScenarioError, DemandCsvError) as err:
        raise _fail(as_typed(str(err), demand_csv)) from None
    if loaded.demand.csv is not None:
        how = describe(loaded.demand.resample, loaded.demand.block_length)
        errors.print(f"demand: {how}", highlight=False)
    return loaded


def _compile_first(loaded: Scenario) -> bool:
    """Announce and pay the one-off kernel compile now, once every input is checked; whether it was."""
    from allocsim.experiments.waits import compile_first

    return compile_first(loaded, _say)


def _say(line: str) -> None:
    """A status line on stderr (what a wait is about), never folded mid-path: on a terminal broken
    between words to its width (a path too long for a line keeps a line of its own), else one line."""
    if errors.is_terminal:
        line = textwrap.fill(line, max(errors.width, 20), break_long_words=False, break_on_hyphens=False)
    errors.print(line, highlight=False, soft_wrap=True)


@contextmanager
def _progress(total: int, what: str, transient: bool = False, unit: str = "tasks",
              phases: list[Callable[[str], None]] | None = None,
              kept: int = 0) -> Iterator[Callable[[int], None]]:
    """Progress on stderr (``progress.RunProgress``): a bar that ticks every second on a terminal, else
    plain lines with a heartbeat every few seconds; yields ``advance(n)``, and appends its ``phase``
    (what the command is doing, said under the bar and in the heartbeat) to ``phases`` when given.
    ``transient``: erased when done, not drawn off a terminal: a refusal inside stays the one line."""
    if transient and not errors.is_terminal:
        yield lambda n: None
        return
    from allocsim.experiments.progress import RunProgress

    with RunProgress(total, what, unit, out=errors, bar_console=errors, every_s=10.0,
                     transient=transient, kept=kept) as progress:
        if phases is not None:
            phases.append(progress.phase)
        yield progress.advance


def _writable_file(path: Path) -> Path:
    """Check now that ``path`` can be written (its folder made, a file creatable there, not a folder
    itself), so a long search never fails at its very end."""
    if path.is_dir():
        raise _fail(f"--out {path} is a folder; give a file name, e.g. {path / 'params.json'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _fail(f"cannot create output folder {path.parent}: {err.strerror or err}") from None
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as err:
        raise _fail(f"cannot write to {path.parent}: {err.strerror or err}") from None
    return path


def _split(policies: str | None) -> list[str] | None:
    return [p.strip() for p in policies.split(",") if p.strip()] if policies else None


@app.command()
def tune(
    policy: Annotated[str, typer.Option(help="rule set whose parameters are searched, or all (every "
                                             "tunable rule, one after the other)")],
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    episodes: Annotated[int, typer.Option(min=1, max=MAX_EPISODES, help="tuning seeds per grid point")] = 20,
    out: Annotated[
        Path | None,
        typer.Option(help="JSON file for the best parameters [default: tuned/<scenario>/<policy>.json, "
                          "<policy>.events.json when tuned in events mode]"),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(help="replace a parameter's values: name=lo:hi:n (n evenly spaced values, ends "
                          "included) or name=v1,v2,... (repeatable); a best value on the edge of its "
                          "range is warned about", metavar="NAME=LO:HI:N"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=MAX_WORKERS, help="worker processes [default: CPU count]")
    ] = None,
    demand_csv: Annotated[
        Path | None, typer.Option(help=f"tune on this history; {DEMAND_CSV_HELP}")
    ] = None,
    resample: Annotated[str | None, typer.Option(help=RESAMPLE_HELP, metavar="[block|none]")] = None,
    timing: TimingOption = None,
) -> None:
    """Grid-search a rule's parameters on the tuning seed block; save the best for the benchmark.

    With --timing events the grid points play the event model (a holdback, say, is worth
    more there); the parameters are kept per timing mode, and a run looks up its own mode first."""
    loaded = _load(scenario, demand_csv, resample, timing)
    from allocsim.experiments.interrupt import interruptible, tune_kept
    from allocsim.experiments.tables import tune_table  # light: no pandas, SciPy or numba
    from allocsim.experiments.tuning import DEFAULT_TUNED_DIR, plan_jobs, save_tuned
    from allocsim.experiments.tuning import tune as search

    try:
        jobs = plan_jobs(loaded, policy, grid or [], out)
        seed_block("tuning").seeds(episodes)
    except ValueError as err:
        raise _fail(str(err)) from None
    n_workers = _workers(workers)
    for job in jobs:  # every target writable before any search (a search takes minutes)
        _writable_file(job.target)
    saved: list[str] = []
    _say(f"tuning {', '.join(job.policy for job in jobs)} on {loaded.name}: "  # 4 s of silence before
         f"{sum(job.points for job in jobs):,} grid points x {episodes} tuning seeds")
    _compile_first(loaded)
    with interruptible(lambda: tune_kept(saved, [job.policy for job in jobs])):
        for job in jobs:
            started = time.perf_counter()
            with _progress(job.points * episodes, f"tune {job.policy}", unit="episodes") as advance:
                result = search(loaded, job.policy, episodes, n_workers=n_workers, on_done=advance,
                                overrides=job.overrides)
            console.print(tune_table(result, limit=TUNE_ROWS_SHOWN, currency=loaded.currency))
            for line in result.warnings:
                errors.print(line, highlight=False, soft_wrap=True)
            try:
                path = save_tuned(job.target, result)
            except OSError as err:
                raise _fail(f"cannot write {job.target}: {err.strerror or err}") from None
            saved.append(job.policy)
            console.print(
                f"best {job.policy} parameters {result.best.params} ({loaded.timing.mode} mode) saved to "
                f"{path} ({time.perf_counter() - started:.1f} s)", highlight=False, soft_wrap=True,
            )
    if out is None:
        console.print(f"benchmark and train run from this folder use it (their --tuned-dir is "
                      f"{DEFAULT_TUNED_DIR})", highlight=False)


@app.command()
def benchmark(
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    episodes: Annotated[int, typer.Option(min=1, max=MAX_EPISODES, help="episodes per rule set")] = 20,
    seed: Annotated[
        int | None,
        typer.Option(min=0, max=MAX_SEED,
                     help="first seed: seeds K, K+1, ... [default: start of the test block]"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="output folder [default: runs/<timestamp>-<scenario>/]")
    ] = None,
    demand_csv: Annotated[
        Path | None, typer.Option(help=f"replay this history; {DEMAND_CSV_HELP}")
    ] = None,
    resample: Annotated[str | None, typer.Option(help=RESAMPLE_HELP, metavar="[block|none]")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=MAX_WORKERS, help="worker processes [default: CPU count]")
    ] = None,
    policies: Annotated[str | None, typer.Option(help="comma-separated rule sets [default: all]")] = None,
    warm_up: Annotated[
        int, typer.Option(min=0, max=MAX_PERIODS, help="periods dropped from the KPIs at the start")
    ] = 0,
    tuned_dir: Annotated[
        Path,
        typer.Option(help="your tuned parameters (allocsim tune), looked up first; the presets' tuned "
                          "parameters ship with the package"),
    ] = Path("tuned"),
    timing: TimingOption = None,
    bound: Annotated[
        bool, typer.Option("--bound/--no-bound", help="clairvoyant bound and DP gap columns (once per seed)")
    ] = True,
    model: Annotated[
        list[Path] | None,
        typer.Option(help="training run folder, exported .onnx or pretrained:<algo> (the shipped policy) "
                          "of a learned policy to add (repeatable); lookahead:FILE.onnx: that policy "
                          "improved by rollouts at every decision (slow)",
                     metavar="RUN_DIR|FILE.onnx|pretrained:ALGO|lookahead:FILE.onnx"),
    ] = None,
    pretrained: Annotated[
        bool | None,
        typer.Option("--pretrained/--no-pretrained",
                     help="add the policy shipped for this scenario [default: when --policies is not given]"),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="write into an --out folder that holds another run, replacing its files")
    ] = False,
    resume: Annotated[bool, typer.Option(help="finish the interrupted run in --out (same options)")] = False,
) -> None:
    """Every rule set on common random numbers: ranked table, CSV/Parquet, plots and report.html."""
    from allocsim.agents.pretrained import resolve_shipped
    from allocsim.experiments.cli_bench import benchmark_into
    from allocsim.experiments.episode_store import run_digest
    from allocsim.experiments.evaluation import learned_spec, prepare, pretrained_spec
    from allocsim.experiments.policy_specs import default_out, rule_specs  # not benchmark: pandas, SciPy
    from allocsim.experiments.run_folder import FolderInUse, hold
    from allocsim.experiments.seeds import seed_range

    loaded = _load(scenario, demand_csv, resample, timing)
    try:
        seeds = seed_range(seed if seed is not None else seed_block("test").start, episodes)
        specs, sources = rule_specs(loaded, _split(policies), tuned_dir)
        models = [resolve_shipped(m, scenario) or m for m in model or []]
        if any(Path(m).suffix != ".onnx" for m in models):  # a run folder's model needs torch
            from allocsim.experiments.waits import load_learning

            load_learning(_say)
        learned = [learned_spec(m) for m in models]
        with_shipped = pretrained if pretrained is not None else policies is None
        shipped = pretrained_spec(loaded) if with_shipped else None
        if shipped is not None and shipped.label not in {s.label for s in learned}:  # not twice
            learned.append(shipped)
        specs += learned
        prepare(loaded, specs)
        if warm_up >= loaded.periods:
            raise ValueError(f"--warm-up must be below the horizon of {loaded.periods} periods, "
                             f"got {warm_up}")
    except ValueError as err:
        raise _fail(str(err)) from None
    target = out or default_out(loaded.name)
    created = not target.exists()
    try:
        digest = run_digest(loaded.model_dump_json(), specs, seeds, warm_up)
        held = hold(target, "benchmark", force=force, same_run={"digest": digest} if resume else None)
    except FolderInUse as err:
        raise _fail(str(err)) from None
    n_workers = _workers(workers)
    with held:
        benchmark_into(target, created, loaded, seeds, specs, learned, sources, n_workers, warm_up, bound,
                       tuned_dir, digest)


from allocsim.experiments.cli_bench import register as _register_bound  # noqa: E402
from allocsim.experiments.cli_deploy import register as _register_deploy  # noqa: E402
from allocsim.experiments.cli_files import register as _register_files  # noqa: E402
from allocsim.experiments.cli_learn import register as _register_learning  # noqa: E402
from allocsim.experiments.cli_sweep import register as _register_sweep  # noqa: E402

_register_bound(app)  # bound
_register_learning(app)  # train, evaluate
_register_deploy(app)  # export, infer
_register_files(app)  # scenarios, demand-history
_register_sweep(app)  # sweep


def main() -> None:
    app()


if __name__ == "__main__":
    main()
