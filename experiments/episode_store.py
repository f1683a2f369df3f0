"""Finished benchmark episodes kept in the run folder as they finish, so Ctrl-C loses none of them
and ``allocsim benchmark --resume`` plays only the rest.

A row depends on (scenario, policy, parameters, seed, warm-up) alone (common random numbers), so a
stored row is the row a new run would compute: a resumed benchmark gives the figures of an
uninterrupted one. Each finished chunk is one JSON file (plain data, written atomically) under
``OUT/episodes-done/<pass>/``; Python's JSON round-trips floats (and NaN) exactly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from allocsim.core.atomic_files import write_text

#: The folder of finished chunks inside a run folder (removed once the run is whole).
DONE = "episodes-done"
#: The passes of one benchmark: the run itself, its aggregated twins, the same without holdbacks.
PASSES = ("main", "aggregated", "no-holdback")

Row = dict[str, Any]


class EpisodeStore:
    """Finished rows of one pass of one benchmark, by (policy label, seed)."""

    def __init__(self, folder: Path, pass_name: str = "main") -> None:
        if pass_name not in PASSES:
            raise ValueError(f"unknown benchmark pass {pass_name!r}; valid: {', '.join(PASSES)}")
        self.root = Path(folder) / DONE
        self.folder = self.root / pass_name

    def pass_(self, pass_name: str) -> EpisodeStore:
        """The store of another pass of the same run."""
        return EpisodeStore(self.root.parent, pass_name)

    def save(self, label: str, rows: Sequence[Row]) -> None:
        """Keep the finished ``rows`` of policy ``label`` (one chunk, one file, written atomically)."""
        if not rows:
            return
        key = hashlib.sha256(label.encode()).hexdigest()[:12]
        name = f"{key}-{int(rows[0]['seed'])}-{int(rows[-1]['seed'])}.json"
        write_text(self.folder / name, json.dumps({"label": label, "rows": list(rows)}))

    def load(self) -> dict[tuple[str, int], Row]:
        """Every kept row by (label, seed); a file cut short or not of this shape is skipped."""
        done: dict[tuple[str, int], Row] = {}
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                chunk = json.loads(path.read_text(encoding="utf-8"))
                label, rows = str(chunk["label"]), chunk["rows"]
                done.update({(label, int(row["seed"])): row for row in rows})
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return done

    def count(self) -> int:
        """How many episodes of this pass are kept."""
        return len(self.load())

    def rows(self, labels: Sequence[str], seeds: Sequence[int]) -> list[Row]:
        """The kept rows of ``labels`` x ``seeds`` in the benchmark's order (policy, then seed)."""
        done = self.load()
        return [done[label, seed] for label in labels for seed in seeds if (label, seed) in done]

    def remove(self) -> None:
        """Drop every pass's kept chunks (the run is whole)."""
        for path in sorted(self.root.glob("*/*.json")):
            path.unlink(missing_ok=True)
        for folder in sorted(self.root.glob("*")):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        if self.root.is_dir() and not any(self.root.iterdir()):
            self.root.rmdir()


def run_digest(scenario_json: str, specs: Sequence[Any], seeds: Sequence[int], warm_up: int) -> str:
    """What makes two benchmarks the same run (its rows interchangeable): the scenario's full content,
    every policy with its parameters (and a learned one's file bytes), the seeds, the warm-up and the
    simulator's code (the digest its compiled kernels are cached under, demand streams included: an
    upgrade that could change a row refuses the resume)."""
    from allocsim.envs.engine import cache_dir

    policies = [{"name": s.name, "label": s.label, "params": _plain(s.params), "model": _file_digest(s.model)}
                for s in specs]
    payload = json.dumps({"scenario": scenario_json, "policies": policies, "seeds": [int(s) for s in seeds],
                          "warm_up": int(warm_up), "engine": cache_dir().name}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in dict(params).items()}


def _file_digest(model: str) -> str:
    """The bytes of a learned policy's file (an ``.onnx`` or a run folder's ``model.zip``), '' for rules."""
    if not model:
        return ""
    path = Path(model)
    path = path if path.suffix == ".onnx" else path / "model.zip"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"
