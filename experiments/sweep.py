"""``allocsim sweep``: scenarios x policies x seeds as independent cells, resumable, on any backend.

A cell is a plain dict -- ``{"scenario": name, "scenario_spec": <scenario as JSON>,
"policy": {"kind": ..., ...}, "seed": k, "warm_up": w}`` -- and ``run_cell(cell)``
is a pure function of it: the worker rebuilds the scenario and env from the dict
(cached per process), so a cell runs the same on this machine or on a Ray node,
and the same seeds give the same rows whatever the backend or the worker count.

Output folder::

    OUT/cells/<cell-id>.json        one finished cell: the cell (without the scenario dump),
                                    its KPI row and seconds; written atomically by the driver
    OUT/cells/<cell-id>.error.json  a failed cell: its error and traceback (retried on re-run)
    OUT/results.csv, .parquet       every finished cell of the sweep, flat KPI columns (``rule_name``:
                                    a rule entry's registered policy, empty for other kinds)
    OUT/summary.csv                 per scenario x policy: mean profit and fill rate, and the
                                    paired profit difference against the scenario's best rule
                                    (``registry.best_tuned_rule`` of its rule entries)
    OUT/sweep.json                  the sweep file as validated, and the cell count

The cell id is a stable hash of the cell dict (scenario contents included), so
re-running skips the cells already done and redoes a cell whose scenario,
policy parameters, seed or warm-up changed. Killing a sweep loses only the
cells in flight.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from allocsim.core.atomic_files import atomic_write, write_text
from allocsim.envs.scenario import Scenario, load_scenario, preset_names
from allocsim.experiments.evaluation import flatten
from allocsim.experiments.kpi_labels import console_label
from allocsim.experiments.kpis import fmt_ci, fmt_number
from allocsim.experiments.sweep_backends import BackendOptions, CellFn, Outcome, make_backend
from allocsim.experiments.sweep_config import SweepConfig, SweepConfigError
from allocsim.experiments.sweep_kinds import ExpandContext, expand_entry, run_policy_cell
from allocsim.experiments.sweep_summary import summarise
from allocsim.experiments.tables import Col, FittedTable

Cell = dict[str, Any]


# ------------------------------------------------------------------ cells
def _scenario(ref: str, folder: Path, timing: str | None = None) -> Scenario:
    """A preset by name, else a YAML path relative to the sweep file's folder (``timing`` overrides
    its timing mode)."""
    if ref in preset_names():
        return load_scenario(ref, timing)
    path = Path(ref)
    return load_scenario(path if path.is_absolute() else folder / path, timing)


def expand(config: SweepConfig, source: str | Path = "sweep", timing: str | None = None,
           on_skip: Callable[[str], None] | None = None) -> list[Cell]:
    """Every cell of the sweep, scenario by policy by seed; SweepConfigError (one line) if one is bad.
    ``timing`` (``--timing``) sets every scenario's timing mode; ``on_skip`` gets one line naming the
    entries left out on some scenarios (onnx and model policies made for another one) and why.

    Scenarios are loaded, policies resolved (tuned parameters read) and checked
    here, in the driver, so a bad entry fails before any cell runs.
    """
    source = Path(source)
    ctx = ExpandContext(source=str(source), tuned_dir=config.tuned_folder(source))
    seeds = config.seed_list()
    cells: list[Cell] = []
    names: set[str] = set()
    used: set[int] = set()
    skipped: dict[int, list[str]] = {}
    for i, ref in enumerate(config.scenarios):
        try:
            scenario = _scenario(ref, source.parent, timing)
        except ValueError as err:
            raise SweepConfigError(f"{source}: scenarios.{i}: {err}") from None
        if scenario.name in names:
            raise SweepConfigError(f"{source}: scenarios.{i}: scenario name {scenario.name!r} appears twice")
        names.add(scenario.name)
        if config.warm_up >= scenario.periods:
            raise SweepConfigError(f"{source}: warm_up: must be below the horizon of {scenario.name!r} "
                                   f"({scenario.periods} periods), got {config.warm_up}")
        spec = scenario.model_dump(mode="json")
        expanded = [expand_entry(raw, j, scenario, ctx) for j, raw in enumerate(config.policies)]
        used.update(j for j, p in enumerate(expanded) if p is not None)
        for j, p in enumerate(expanded):
            if p is None:
                skipped.setdefault(j, []).append(scenario.name)
        policies = [p for p in expanded if p is not None]
        labels = [p["label"] for p in policies]
        if len(set(labels)) != len(labels):
            raise SweepConfigError(f"{source}: policies: labels must be unique, got {labels}")
        for policy in policies:
            for seed in seeds:
                cells.append({"scenario": scenario.name, "scenario_spec": spec, "policy": policy,
                              "seed": seed, "warm_up": config.warm_up})
    unused = [j for j in range(len(config.policies)) if j not in used]
    if unused:
        raise SweepConfigError(f"{source}: policies.{unused[0]}: fits none of the scenarios (onnx and model "
                               "policies run only on the scenario they were made for)")
    if skipped and on_skip is not None:
        on_skip(skipped_line(config, skipped))
    return cells


def skipped_line(config: SweepConfig, skipped: dict[int, list[str]]) -> str:
    """``left out policies.1 (onnx x.onnx) on tiny-dp (made for another scenario); ...``: one line."""
    parts = []
    for j, scenarios in skipped.items():
        raw = config.policies[j]
        entry = {"name": raw} if isinstance(raw, str) else dict(raw)
        shown = entry.get("label") or f"{entry.get('kind')} {entry.get('path')}"
        why = "no policy ships for it" if entry.get("path") == "pretrained" else "made for another scenario"
        parts.append(f"policies.{j} ({shown}) on {', '.join(scenarios)} ({why})")
    return "sweep: left out " + "; ".join(parts)


def cell_id(cell: Cell) -> str:
    """A stable 16-hex-digit hash of the cell dict (canonical JSON)."""
    text = json.dumps(cell, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def run_cell(cell: Cell) -> Outcome:
    """Worker side: the cell's KPI row, or its error; never raises for an error of the cell itself."""
    started = time.perf_counter()
    try:
        row = run_policy_cell(cell)
    except Exception as err:
        from allocsim.experiments.sweep_backends import failure

        return {**failure(err), "seconds": time.perf_counter() - started}
    return {"ok": True, "row": row, "seconds": time.perf_counter() - started}


# ------------------------------------------------------------------ store
def _public(cell: Cell) -> Cell:
    """The cell as recorded: without the scenario dump and embedded model bytes (a digest instead)."""
    public = {k: v for k, v in cell.items() if k != "scenario_spec"}
    policy = cell["policy"]
    if "model_b64" in policy:
        digest = hashlib.sha256(base64.b64decode(policy["model_b64"])).hexdigest()
        public["policy"] = {**{k: v for k, v in policy.items() if k != "model_b64"}, "model_sha256": digest}
    if "files" in policy:
        public["policy"] = {k: v for k, v in policy.items() if k != "files"}
    return public


class CellStore:
    """``OUT/cells``: one JSON file per finished or failed cell, each written atomically."""

    def __init__(self, out: Path) -> None:
        self.folder = Path(out) / "cells"
        self.folder.mkdir(parents=True, exist_ok=True)

    def result_path(self, cid: str) -> Path:
        return self.folder / f"{cid}.json"

    def error_path(self, cid: str) -> Path:
        return self.folder / f"{cid}.error.json"

    def done(self, cid: str) -> bool:
        return self.result_path(cid).is_file()

    def save(self, cid: str, cell: Cell, outcome: Outcome) -> None:
        record = {"id": cid, "cell": _public(cell), **outcome}
        if outcome.get("ok"):
            write_text(self.result_path(cid), json.dumps(record, indent=1) + "\n")
            self.error_path(cid).unlink(missing_ok=True)
        else:
            write_text(self.error_path(cid), json.dumps(record, indent=1) + "\n")

    def load(self, cid: str) -> dict[str, Any] | None:
        path = self.result_path(cid)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def error(self, cid: str) -> dict[str, Any] | None:
        path = self.error_path(cid)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None


# ------------------------------------------------------------------ run
@dataclass
class SweepReport:
    """What a sweep run did: cell counts, the failures and the wall time."""

    total: int
    skipped: int = 0
    ran: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (cell id, error)
    seconds: float = 0.0
    backend: str = "local"


def run_sweep(
    cells: Sequence[Cell],
    out: Path,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    on_done: Callable[[int], None] | None = None,
    fn: CellFn = run_cell,
) -> SweepReport:
    """Run every cell not already finished in ``out``; each result is stored as it arrives.

    ``on_done(1)`` is called per finished or failed cell (skipped cells are counted at the start).
    """
    started = time.perf_counter()
    store = CellStore(out)
    ids = [cell_id(c) for c in cells]
    todo = [(cid, c) for cid, c in zip(ids, cells, strict=True) if not store.done(cid)]
    todo = list(dict((cid, c) for cid, c in todo).items())  # a cell listed twice runs once
    report = SweepReport(total=len(cells), skipped=len(cells) - len(todo), backend=backend)
    if on_done and report.skipped:
        on_done(report.skipped)
    if todo:
        with make_backend(backend, BackendOptions(workers=workers, address=address)) as runner:
            pending: dict[Any, tuple[str, Cell]] = {}
            queue = iter(todo)
            while True:
                while len(pending) < runner.slots:
                    item = next(queue, None)
                    if item is None:
                        break
                    pending[runner.submit(fn, item[1])] = item
                if not pending:
                    break
                for handle, outcome in runner.wait(list(pending)):
                    cid, cell = pending.pop(handle)
                    store.save(cid, cell, outcome)
                    report.ran += 1
                    if not outcome.get("ok"):
                        report.failed.append((cid, str(outcome.get("error", "unknown error"))))
                    if on_done:
                        on_done(1)
    report.seconds = time.perf_counter() - started
    return report


# ------------------------------------------------------------------ gather
def gather(cells: Sequence[Cell], out: Path) -> pd.DataFrame:
    """The finished cells of the sweep in sweep order, one flat row each (failed cells left out)."""
    store = CellStore(out)
    rows = []
    for cell in cells:
        cid = cell_id(cell)
        record = store.load(cid)
        if record is None:
            continue
        row = {k: v for k, v in record["row"].items() if k != "seed"}
        kind = cell["policy"]["kind"]
        rows.append({"cell_id": cid, "scenario": cell["scenario"], "policy": cell["policy"]["label"],
                     "kind": kind, "rule_name": cell["policy"]["name"] if kind == "rule" else "",
                     "seed": cell["seed"], **flatten(row)})
    return pd.DataFrame(rows)


def write_results(frame: pd.DataFrame, out: Path, config: SweepConfig | None = None) -> list[Path]:
    """``results.csv`` and ``results.parquet`` (and ``sweep.json``) in ``out``, each atomically."""
    out = Path(out)
    written = [
        atomic_write(out / "results.csv", lambda p: frame.to_csv(p, index=False)),
        atomic_write(out / "results.parquet", lambda p: frame.to_parquet(p, index=False)),
        atomic_write(out / "summary.csv", lambda p: summarise(frame).to_csv(p, index=False)),
    ]
    if config is not None:
        meta = {"config": config.model_dump(mode="json"), "finished_cells": len(frame)}
        written.append(write_text(out / "sweep.json", json.dumps(meta, indent=2) + "\n"))
    return written


def summary_table(frame: pd.DataFrame, report: SweepReport, out: Path) -> FittedTable:
    """Per scenario x policy: finished cells, mean profit and fill rate, and the paired profit
    difference against the scenario's best rule (``sweep_summary``); failures in the caption.

    Fitted to the console (``tables.FittedTable``): numbers are never split across lines.
    """
    rows = summarise(frame)
    paired = zip(rows["policy"], rows["best_rule"], rows["profit_vs_best_rule"],
                 rows["profit_vs_best_rule_ci95"], strict=True)
    keys = [Col("scenario", rows["scenario"].astype(str).tolist(), justify="left"),
            Col("policy", rows["policy"].astype(str).tolist(), justify="left")]
    values = [Col("cells", [str(n) for n in rows["cells"]]),
              Col(console_label("profit"), [fmt_number(float(v)) for v in rows["profit_mean"]]),
              Col(console_label("fill_rate"), [fmt_number(float(v)) for v in rows["fill_rate_mean"]]),
              Col("vs best rule", ["best" if policy == best else _paired(gain, half)
                                   for policy, best, gain, half in paired])]
    table = FittedTable(f"sweep · {report.total} cells · {report.backend}", keys, values, bold_first=False)
    caption = (f"{len(frame)} finished ({report.ran - len(report.failed)} run now, {report.skipped} reused), "
               f"{len(report.failed)} failed, {report.seconds:.1f} s")
    if report.failed:
        cid, error = report.failed[0]
        caption += f"\nfirst failure {cid}: {error.splitlines()[0][:120]} (see {out}/cells/*.error.json)"
    table.caption = caption
    return table


def _paired(gain: float, half_width: float) -> str:
    """``+12 ± 5`` at the interval's precision (``fmt_ci``); ``-`` without a rule to compare with."""
    if pd.isna(gain):
        return "-"
    text = fmt_ci(gain, 0.0 if pd.isna(half_width) else half_width)
    return text if text.startswith("-") else f"+{text}"
