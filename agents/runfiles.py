"""The files of a training run directory, each written atomically (temp file + ``os.replace``).

=====================  ==========================================================
``config.yaml``        what was trained: scenario, algorithm, seed, hyperparameters
``model.zip``          the latest checkpoint (SB3 format)
``vecnormalize.pkl``   the observation / reward normalisation statistics
``resume.npz``         what an exact resume needs beyond the model: random generator states,
                       the episodes in flight (``allocsim.agents.resume_state``); arrays only
``replay_buffer.npz``  an off-policy algorithm's replay buffer: its arrays, position and fill
``progress.json``      timesteps done and whether the run finished (written last)
``metrics.csv``        one row per evaluation: throughput, training and validation KPIs
``tb/``                TensorBoard logs
``best/``              ``model.zip`` + ``vecnormalize.pkl`` of the checkpoint with the best
                       validation profit (runs with an evaluator) and ``best.json``
                       (its profit and timesteps, written last); loading and
                       exporting a run use it when the stamp is there
=====================  ==========================================================

``model.zip`` and ``vecnormalize.pkl`` are loaded without unpickling code (``allocsim.agents.safe_load``:
pickled entries are rebuilt from ``config.yaml``, the statistics read by an allow-list unpickler);
``resume.npz`` and ``replay_buffer.npz`` are read by numpy with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from allocsim.core.atomic_files import atomic_write, write_text

CONFIG = "config.yaml"
MODEL = "model.zip"
VECNORMALIZE = "vecnormalize.pkl"
RESUME = "resume.npz"
REPLAY_BUFFER = "replay_buffer.npz"
#: The replay buffer as SB3 pickles it (runs before the ``.npz``): never read; its run's resume is refused.
LEGACY_REPLAY_BUFFER = "replay_buffer.pkl"
PROGRESS = "progress.json"
METRICS = "metrics.csv"
TENSORBOARD = "tb"
BEST = "best"
BEST_STAMP = "best.json"


def write_config(run_dir: Path, config: dict[str, Any]) -> Path:
    return write_text(run_dir / CONFIG, yaml.safe_dump(config, sort_keys=False))


def read_config(run_dir: Path) -> dict[str, Any]:
    """The run's config; ValueError naming the folder when it is not a training run."""
    path = Path(run_dir) / CONFIG
    if not Path(run_dir).exists():
        raise ValueError(f"{run_dir}: no such file or folder")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise ValueError(f"{run_dir} is not a training run (no {CONFIG})") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(data, dict) or "algo" not in data:
        raise ValueError(f"{path}: not a training run config")
    return data


def write_progress(run_dir: Path, timesteps: int, done: bool) -> Path:
    return write_text(run_dir / PROGRESS, json.dumps({"timesteps": timesteps, "done": done}) + "\n")


def read_progress(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / PROGRESS
    if not path.is_file():
        return {"timesteps": 0, "done": False}
    return json.loads(path.read_text(encoding="utf-8"))


def refuse_taken(run_dir: Path, resume: bool) -> None:
    """ValueError when ``run_dir`` holds a training run and this is no ``--resume``: said by both trainers,
    and by ``allocsim train`` before it prepares anything (it came after 6 s of preparing and a bar)."""
    if not resume and (Path(run_dir) / MODEL).is_file():
        raise ValueError(f"{run_dir} already holds a training run; pass --resume or choose another --out")


def resumed_timesteps(run_dir: Path) -> int:
    """Steps a ``--resume`` of ``run_dir`` continues from: its last checkpoint's, 0 without one."""
    run_dir = Path(run_dir)
    return int(read_progress(run_dir)["timesteps"]) if (run_dir / MODEL).is_file() else 0


def resume_note(run_dir: Path, planned: int) -> str | None:
    """What ``--resume`` continues from, in one line; None when the run has its ``planned`` steps
    already (nothing resumes: the command says the run is finished)."""
    run_dir = Path(run_dir)
    done = resumed_timesteps(run_dir)
    if done >= planned:
        return None
    if not done:
        return f"--resume: no finished checkpoint in {run_dir} yet; training starts afresh"
    return f"resuming {run_dir} from step {done:,} of {planned:,} (checkpoint {run_dir / MODEL})"


def write_metrics(run_dir: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """All rows as CSV; columns in first-seen order (later rows may add columns)."""
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    return atomic_write(run_dir / METRICS, write)


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def policy_files(run_dir: Path) -> tuple[Path, Path]:
    """The model and normalisation files that stand for the run: ``best/`` if kept, else the latest.

    ``best/`` counts only with its stamp, written after both files, so a half-written copy
    is never used.
    """
    best = Path(run_dir) / BEST
    folder = best if (best / BEST_STAMP).is_file() else Path(run_dir)
    return folder / MODEL, folder / VECNORMALIZE


def best_profit(run_dir: Path) -> float:
    """The validation profit of the kept checkpoint (``-inf`` when none is kept)."""
    stamp = Path(run_dir) / BEST / BEST_STAMP
    if not stamp.is_file():
        return -math.inf
    return float(json.loads(stamp.read_text(encoding="utf-8"))["val_profit"])


def keep_best(run_dir: Path, val_profit: float, timesteps: int) -> None:
    """Copy the latest checkpoint (model and statistics) to ``best/``; the stamp goes last."""
    best = Path(run_dir) / BEST
    (best / BEST_STAMP).unlink(missing_ok=True)
    for name in (VECNORMALIZE, MODEL):
        source = Path(run_dir) / name
        if source.is_file():
            atomic_write(best / name, lambda tmp, src=source: shutil.copyfile(src, tmp))
        else:
            (best / name).unlink(missing_ok=True)
    write_text(best / BEST_STAMP, json.dumps({"val_profit": val_profit, "timesteps": timesteps}) + "\n")
