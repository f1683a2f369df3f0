"""``allocsim sweep``: scenarios x policies x seeds from a YAML file, locally or on Ray.

Registered on the main app by ``register(app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocsim.experiments.cli_options import TimingOption
from allocsim.experiments.option_limits import MAX_WORKERS


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)


def sweep_command(
    config: Annotated[Path, typer.Argument(help="sweep YAML: scenarios, policies, seeds")],
    backend: Annotated[str, typer.Option(help="where cells run: local (process pool) or ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address, e.g. ray://host:10001 (default: RAY_ADDRESS)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="output folder (default: runs/sweep-<config name>/)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=MAX_WORKERS,
                                 help="worker processes / local Ray CPUs (default: CPU count)")
    ] = None,
    timing: TimingOption = None,
    force: Annotated[
        bool, typer.Option(help="write into an --out folder that holds another run, replacing its files")
    ] = False,
) -> None:
    """Scenarios x policies x seeds, locally or on Ray; resumable (re-run to finish), results.csv in --out."""
    from allocsim.core.error_text import shorten
    from allocsim.envs.scenario import Scenario
    from allocsim.envs.scenario.timing import MODES
    from allocsim.experiments.cli import _compile_first, _fail, _progress, _say, console
    from allocsim.experiments.interrupt import Counter, interruptible, sweep_kept
    from allocsim.experiments.run_folder import FolderInUse, hold, write_manifest
    from allocsim.experiments.sweep import expand, gather, run_sweep, summary_table, write_results
    from allocsim.experiments.sweep_backends import BACKENDS, BackendError
    from allocsim.experiments.sweep_config import load_config

    if backend not in BACKENDS:
        raise _fail(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if timing is not None and timing not in MODES:
        raise _fail(f"--timing: expected {' or '.join(MODES)}, got {shorten(repr(timing), 80)}")
    try:
        cfg = load_config(config)
        cells = expand(cfg, config, timing, on_skip=_say)
    except ValueError as err:  # SweepConfigError, one line
        raise _fail(str(err)) from None
    target = out or Path("runs") / f"sweep-{config.stem}"
    try:  # a sweep resumes in its own folder (same sweep name); another run's folder needs --force
        held = hold(target, "sweep", force=force, same_run={"sweep": config.stem})
    except FolderInUse as err:
        raise _fail(str(err)) from None
    count = Counter()
    with held:
        write_manifest(target, "sweep", [], sweep=config.stem)
        if cells:
            _compile_first(Scenario.model_validate(cells[0]["scenario_spec"]))
        try:
            with interruptible(lambda: sweep_kept(count.done, len(cells), target)), \
                    _progress(len(cells), f"sweep {config.stem}", unit="cells") as advance:
                count = Counter(advance)
                report = run_sweep(cells, target, backend=backend, workers=workers, address=address,
                                   on_done=count)
        except BackendError as err:
            raise _fail(str(err)) from None
        frame = gather(cells, target)
        try:
            written = write_results(frame, target, cfg)
        except OSError as err:
            raise _fail(f"cannot write to {target}: {err.strerror or err}") from None
        write_manifest(target, "sweep", written, sweep=config.stem)
    console.print(summary_table(frame, report, target))
    console.print(f"results: {target / 'results.csv'}", highlight=False)
