"""Ctrl-C on a long command: stop at once, say what was kept and how to go on, exit 130.

Worker pools stop with the command (``allocsim.core.processes.StoppablePool`` kills them when
the ``with`` block is left by the interrupt); this module only turns the ``KeyboardInterrupt``
into one line on stderr instead of a traceback or silence.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import typer

#: Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


@contextmanager
def interruptible(kept: Callable[[], str]) -> Iterator[None]:
    """On Ctrl-C inside the block: print ``interrupted: <kept()>`` on stderr and exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        typer.echo(f"interrupted: {kept()}", err=True)
        raise typer.Exit(code=INTERRUPTED) from None


def same_command(*extra: str) -> str:
    """The command line this process was started with (as ``allocsim ...``), plus ``extra`` flags
    not already on it: what to type to go on."""
    args = [a for a in sys.argv[1:]]
    args += [flag for flag in extra if flag not in args]
    return shlex.join(["allocsim", *args])


class Counter:
    """Counts units done through ``advance(n)`` and passes them on (to a progress bar)."""

    def __init__(self, advance: Callable[[int], None] | None = None) -> None:
        self.done = 0
        self._advance = advance

    def __call__(self, n: int) -> None:
        self.done += n
        if self._advance is not None:
            self._advance(n)


def drop_if_empty(folder: Path) -> bool:
    """Remove ``folder`` if it holds nothing but this run's lock and manifest and an empty store of
    finished episodes (an interrupted run created it and finished nothing)."""
    from allocsim.experiments.episode_store import EpisodeStore
    from allocsim.experiments.run_folder import LOCK, MANIFEST

    try:
        if EpisodeStore(folder).count() == 0:
            EpisodeStore(folder).remove()
        if {p.name for p in folder.iterdir()} <= {LOCK, MANIFEST}:
            (folder / LOCK).unlink(missing_ok=True)
            (folder / MANIFEST).unlink(missing_ok=True)
        folder.rmdir()
    except OSError:
        return False
    return True


def benchmark_kept(done: int, total: int, folder: Path, created: bool, labels: Sequence[str] = (),
                   seeds: Sequence[int] = ()) -> str:
    """What an interrupted benchmark kept: its finished episodes (in ``folder/episodes-done``, with
    ``episodes.csv`` and ``summary.csv`` of them), and the command that finishes the run."""
    from allocsim.experiments.episode_store import EpisodeStore

    store = EpisodeStore(folder)
    kept = store.count()
    if not kept:
        where = f"{folder} was removed (it was new and empty)" if created and drop_if_empty(folder) else (
            f"nothing was written to {folder}")
        stopped = f"stopped after {done:,} of {total:,} steps" if total else "stopped while preparing"
        return (f"{stopped}; no episode was finished, so {where}; the "
                f"compiled simulator and any fitted bound penalty are kept, so running it again starts at "
                f"once: {same_command()}")
    from allocsim.experiments.benchmark import write_partial
    from allocsim.experiments.run_folder import read_manifest, write_manifest

    written = write_partial(store, labels, seeds, folder)
    manifest = read_manifest(folder) or {"command": "benchmark", "complete": False}
    names = [*manifest.pop("files", []), *(p.name for p in written)]
    write_manifest(folder, str(manifest.pop("command")), names, **manifest)  # --force removes them too
    files = ", ".join(p.name for p in written)
    return (f"stopped after {done:,} of {total:,} steps; the {kept:,} finished episodes are kept in "
            f"{folder} ({files} of them); finish the run (only the rest is played, with the same figures "
            f"as one uninterrupted run) with: {same_command('--resume')}")


def train_kept(run_dir: Path, planned: int) -> str:
    """What an interrupted training kept: its last checkpoint, and the command that resumes it."""
    from allocsim.agents.runfiles import read_progress

    done = int(read_progress(run_dir).get("timesteps", 0))
    if done:
        return (f"the last checkpoint, {done:,} of {planned:,} timesteps, is kept in {run_dir}; continue "
                f"with: {same_command('--resume')}")
    return f"no checkpoint was reached yet, so no training is kept; start again with: {same_command()}"


def sweep_kept(done: int, total: int, folder: Path) -> str:
    """What an interrupted sweep kept: every finished cell, which a re-run skips."""
    return (f"{done:,} of {total:,} cells are finished and kept in {folder / 'cells'}; run the same command "
            f"again to finish the rest (finished cells are skipped): {same_command()}")


def results_kept(folder: Path) -> str:
    """What an interrupted ``allocsim results`` kept: finished and checkpointed runs, exports, benchmarks."""
    return (f"every finished step is kept in {folder} (trained runs and their last checkpoints, exports, "
            f"benchmarks); run the same command again to go on from there: {same_command()}")


def tune_kept(saved: list[str], planned: list[str]) -> str:
    """What an interrupted ``allocsim tune`` kept: the rules whose whole grid ran (their best saved)."""
    left = [name for name in planned if name not in saved]
    done = f"best parameters saved for {', '.join(saved)}" if saved else "no parameters saved"
    return (f"{done}; the search of {left[0]} was stopped and a grid is saved only whole, so tune it again: "
            f"allocsim tune --policy {left[0]} (with this command's other options)") if left else done
