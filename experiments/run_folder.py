"""An output folder belongs to one run: another run's folder is refused unless resumed or forced,
and two runs at once into one folder are refused (the second one says so and exits).

The lock is an advisory ``flock`` on ``OUT/.allocsim.lock`` held while the command runs: the
kernel drops it when the process ends, even by ``kill -9``, so a crashed run never leaves a
stale lock behind. A folder's manifest, ``OUT/.allocsim-run.json``, names the command that
wrote it and the files it wrote, so ``--force`` removes exactly those (never a user's own files)
and a later run can tell its own folder (to resume) from another's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

from allocsim.core.atomic_files import write_text
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.experiments.episode_store import DONE, EpisodeStore

LOCK = ".allocsim.lock"
MANIFEST = ".allocsim-run.json"
#: What a benchmark folder written before manifests existed may hold (removed by ``--force``).
LEGACY_OUTPUTS = ("episodes.csv", "episodes.parquet", "summary.csv", "summary.md", "paired.csv",
                  "timeseries.csv", "timeseries_network.csv", "aggregation_gap.csv", "holdback_value.csv",
                  "allocation_plan.csv", "stock_by_location_sku.csv", "report.html", "run.json", "*.png")


class FolderInUse(ValueError):
    """The folder is another run's, or another process writes to it now; the message is one line."""


def _lock(path: Path) -> IO[str] | None:
    """Hold an exclusive lock on ``path`` (created), or None when another process holds it."""
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run, closed in release
    try:
        import fcntl
    except ImportError:  # no flock (Windows): no cross-process guard, the manifest check still holds
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="utf-8").split()[0]
    except (OSError, IndexError):
        return "another allocsim run"
    return f"another allocsim run (pid {pid})"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_manifest(folder: Path, command: str, files: Iterable[Path | str], **facts: Any) -> Path:
    """Record that ``command`` wrote ``files`` (names inside ``folder``) and ``facts`` about the run."""
    names = sorted({Path(f).name for f in files})
    record = {"command": command, "files": names, "demand_stream": DEMAND_STREAM, **facts}
    return write_text(folder / MANIFEST, json.dumps(record, indent=2))


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in (LOCK, MANIFEST))


def _clear(folder: Path, manifest: dict[str, Any] | None) -> None:
    """Remove the previous run's outputs: the manifest's files, else the known legacy outputs."""
    names = manifest.get("files", []) if manifest else []
    paths = [folder / str(n) for n in names if "/" not in str(n) and str(n) not in ("", ".", "..")]
    if not manifest:
        paths = [p for pattern in LEGACY_OUTPUTS for p in folder.glob(pattern)]
    for path in paths:
        if path.is_file():
            path.unlink()
        elif path.is_dir() and path.name == DONE:  # an interrupted benchmark's finished episodes
            EpisodeStore(folder).remove()
    (folder / MANIFEST).unlink(missing_ok=True)


@contextmanager
def claim(folder: Path, command: str, *, force: bool = False, same_run: dict[str, Any] | None = None,
          ) -> Iterator[Path]:
    """Hold ``folder`` for this run.

    FolderInUse when another process holds it, or when it holds files and is not this run's to
    continue: ``same_run`` (facts of this run, e.g. its config digest) equals the manifest's for a
    resumable command; ``force`` clears the previous run's outputs instead.
    """
    with locked(folder):
        manifest = read_manifest(folder)
        resumes = (same_run is not None and manifest is not None and manifest.get("command") == command
                   and all(manifest.get(k) == v for k, v in same_run.items()))
        entries = _entries(folder)
        if entries and not resumes:
            if not force:
                what = manifest.get("command", "another run") if manifest else "other files"
                shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
                unlike, resumable = _unlike(manifest, same_run), _resumable(manifest, same_run)
                raise FolderInUse(f"{folder} already holds output of {what} ({shown}){unlike}; choose "
                                  f"another --out{resumable}, or pass --force to replace that run's files")
            _clear(folder, manifest)
        yield folder


def _unlike(manifest: dict[str, Any] | None, same_run: dict[str, Any] | None) -> str:
    """Why a resume is refused: the folder's run has other settings."""
    return " of other settings" if manifest and same_run is not None else ""


def _resumable(manifest: dict[str, Any] | None, same_run: dict[str, Any] | None) -> str:
    """The hint for an interrupted run's folder (its manifest says ``complete: false``)."""
    if manifest and manifest.get("complete") is False and same_run is None:
        return ", pass --resume (with the interrupted run's options) to finish it"
    return ""


@contextmanager
def locked(folder: Path) -> Iterator[Path]:
    """Hold the folder's lock (created with the folder); FolderInUse when another process holds it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = _lock(folder / LOCK)
    except OSError as err:
        raise FolderInUse(f"cannot create output folder {folder}: {err.strerror or err}") from None
    if handle is None:
        raise FolderInUse(f"{folder} is in use by {_holder(folder / LOCK)}; wait for it to finish or "
                          "choose another --out")
    try:
        yield folder
    finally:
        handle.close()


def hold(folder: Path, command: str | None, *, force: bool = False,
         same_run: dict[str, Any] | None = None) -> ExitStack:
    """``claim`` (or, without ``command``, only ``locked``) entered now, so FolderInUse is raised
    here and not at the ``with``; leave it with ``with``."""
    stack = ExitStack()
    if command is None:
        stack.enter_context(locked(folder))
    else:
        stack.enter_context(claim(folder, command, force=force, same_run=same_run))
    return stack
