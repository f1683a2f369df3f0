"""Re-render a stored benchmark's tables and report from its own files, without playing anything.

What the benchmark derives from its episodes -- the ranked summary with its gap columns, the best
tuned rule (``registry.best_tuned_rule``), the reference interval, the recommendation -- is rebuilt
from ``episodes.parquet`` and ``run.json``, so a change of those definitions reaches stored runs (e.g.
``results/dcl``) without replaying them. Rewritten: ``summary.csv``, ``summary.md``, ``report.html``
and ``run.json``; the episodes, traces, CSVs and figures are left as they are (none depends on the
rule choice). The report's stock tables are rebuilt from ``stock_by_location_sku.csv`` and the traced
periods (``stored_stock``); a differential test checks the rewritten files equal a fresh run's.

``python -m allocsim.experiments.rerender [--history] RUN_DIR [RUN_DIR ...]`` (presets: the scenario is
read from ``run.json``). With ``--history`` the history-priced bound (``history_store``) joins the stored
bounds where its prices are shipped or cached (never fitted here): it is evaluated now (an exact
expectation, no episode needed), recorded in ``run.json``'s ``history_bound``, and where its seed-mean is
tighter than the stored tightest bound (``bound_choice.tightest``) the episodes' ``tightest_bound`` and
``gap_to_reference_pct`` columns are rewritten (``bounds.attach_gaps``, as a fresh benchmark writes them)
in ``episodes.parquet`` and ``episodes.csv``; nothing else of the episodes changes. With ``--lane-penalty
SEEDS`` the lane-penalty bound (``lane_penalty_seeds``; the DP presets) is solved on the run's first SEEDS
seeds, recorded in ``run.json``'s ``lane_penalty_bound`` (mean, 95 % half-width, seeds) and kept the same
way where its mean plus half-width is the lowest; the rows then hold its mean, and the reference
interval takes its half-width from the record (``reference_interval.from_episodes``). With
``--lagrangian`` the Lagrangian bound (``bounds.seed_lagrangian``; runs stored before it applied, e.g.
contracts-scarce) is solved on the run's seeds (at least 100 where it is random), recorded in
``run.json``'s ``lagrangian_bound`` and kept the same way (its mean on every row: a stored run may have
been played on an older demand stream, so its seeds' episodes need not be the bound's).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from allocsim.core.atomic_files import atomic_write, write_text
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.experiments.benchmark import FIGURE_TITLES
from allocsim.experiments.bound_choice import kind_label, kind_name, mean_ci95, tightest
from allocsim.experiments.bounds import attach_gaps, gap_closed, lagrangian_seeds, seed_lagrangian
from allocsim.experiments.comparisons import COMPARED, paired_frame
from allocsim.experiments.evaluation import Row
from allocsim.experiments.history_store import history_record, seed_history
from allocsim.experiments.kpis import has_contracts
from allocsim.experiments.lane_penalty_seeds import lane_prices, lane_record, seed_lane_penalty
from allocsim.experiments.plots_learning import LEARNING_CURVES, LEARNING_CURVES_TITLE
from allocsim.experiments.reference_interval import from_episodes, share_columns, stored_bound
from allocsim.experiments.report import RunInfo, report_html, run_record, summary_markdown
from allocsim.experiments.summary import summary_frame

OPTIONAL_TABLES = ("aggregation_gap.csv", "holdback_value.csv")
#: bounds a stored run may hold as one mean on every row, their 95 % half-width in ``run.json``'s record
MEAN_RECORDS = ("lane_penalty_bound", "lagrangian_bound")


def unflatten(record: dict[str, Any]) -> Row:
    """A flat episode row (``by_location.<place>.<kpi>``) back to the nested row the benchmark played."""
    row: Row = {}
    for key, value in record.items():
        *path, last = key.split(".")
        node = row
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return row


def stored_stock(folder: Path) -> pd.DataFrame:
    """The traced stock rebuilt from ``stock_by_location_sku.csv``: per policy, seed, location and SKU its
    totals (average x the episode's traced periods, from ``timeseries_network.csv``) in the first period
    and zeros in the others, so ``report_stock``'s sums over periods and locations are those of the trace
    (the traces' units and unit-ages are whole numbers: the totals come back exactly)."""
    path, network = folder / "stock_by_location_sku.csv", folder / "timeseries_network.csv"
    if not path.is_file() or not network.is_file():
        return pd.DataFrame()
    per = pd.read_csv(path)
    if per.empty:
        return pd.DataFrame()
    periods = pd.read_csv(network).groupby(["policy", "seed"]).size().rename("periods").reset_index()
    per = per.merge(periods, on=["policy", "seed"], how="left", sort=False)
    on_hand = (per["avg_on_hand"] * per["periods"]).round()
    totals = pd.DataFrame({"policy": per["policy"], "seed": per["seed"], "location": per["location"],
                           "sku": per["sku"], "on_hand": on_hand,
                           "unit_ages": (per["avg_age"] * on_hand).fillna(0.0).round(),
                           "demand": per["demand"], "shipped": per["shipped"]})
    counts = per["periods"].to_numpy(int)
    stock = totals.iloc[np.repeat(np.arange(len(totals)), counts)].reset_index(drop=True)
    stock.insert(2, "period", np.concatenate([np.arange(n) for n in counts]))
    stock.loc[stock["period"] > 0, ["on_hand", "unit_ages", "demand", "shipped"]] = 0
    return stock


def stored_images(folder: Path) -> dict[str, tuple[str, bytes]]:
    """The run's figures (name -> title, PNG) in the report's order."""
    titles = {**FIGURE_TITLES, LEARNING_CURVES: LEARNING_CURVES_TITLE}
    return {name: (title, (folder / name).read_bytes()) for name, title in titles.items()
            if (folder / name).is_file()}


def _table(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name) if (folder / name).is_file() else pd.DataFrame()


def _switch(folder: Path, episodes: pd.DataFrame, rows: list[Row], run: dict[str, Any], kind: str,
            value: float) -> list[Path]:
    """Make ``value`` (a bound of ``kind``, the same on every seed) the episodes' tightest bound: their
    ``tightest_bound`` and ``gap_to_reference_pct`` as a fresh benchmark writes them (``attach_gaps``),
    written to the folder; ``rows`` follow. The episode files written."""
    seeds = sorted(int(s) for s in episodes["seed"].unique())
    tight = pd.Series(value, index=seeds, dtype=float)
    attach_gaps(rows, {r["seed"]: r["bound"] for r in rows}, run.get("dp_value"),
                {r["seed"]: r["penalised_bound"] for r in rows}, tight, kind)
    for column in ("tightest_bound", "gap_to_reference_pct"):
        values = [r[column] for r in rows]
        if column in episodes:
            episodes[column] = values
        else:  # a run from before the Lagrangian bound joined: where a fresh run has it
            episodes.insert(int(episodes.columns.get_loc("gap_to_reference_pct")), column, values)
    rows[:] = [unflatten(r) for r in episodes.to_dict("records")]  # in the columns' order, as a fresh read
    run["reference_interval"] = {**(run.get("reference_interval") or {}), "tightest_bound_kind": kind}
    return [atomic_write(folder / "episodes.parquet", lambda p: episodes.to_parquet(p, index=False)),
            atomic_write(folder / "episodes.csv", lambda p: episodes.to_csv(p, index=False))]


def _stored_ci(episodes: pd.DataFrame, run: dict[str, Any]) -> tuple[str | None, tuple[float, float] | None]:
    """The stored tightest bound's kind and (mean, 95 % half-width): a lane-penalty bound's from its record
    (its rows hold the mean only), any other's from its values per seed; (None, None) without bounds."""
    kind, stored = stored_bound(episodes, run)
    if stored is None or "penalised_bound" not in episodes:
        return None, None
    record = (run.get(kind) or {}) if kind in MEAN_RECORDS else {}
    if record.get("value") is not None:
        return kind, (float(record["value"]), float(record["ci95"]))
    return kind, mean_ci95(list(stored))


def add_history(folder: Path, episodes: pd.DataFrame, rows: list[Row], run: dict[str, Any],
                scenario: Scenario) -> tuple[str, list[Path]]:
    """The history-priced bound joins a stored run (see the module docstring): ``run`` gets its
    ``history_bound``; where it is the tightest, ``episodes`` and ``rows`` their new bound columns
    (written to the folder). One line saying what happened, and the episode files written."""
    seeds = sorted(int(s) for s in episodes["seed"].unique())
    history, why = seed_history(scenario, seeds, fit=False)
    run["history_bound"] = history_record(scenario, history, why)
    if not history:
        return f"no history-priced bound: {why}", []
    value = history[0].bound
    kind, stored = _stored_ci(episodes, run)
    if stored is None:
        return "the run stored no bounds (benchmarked without them): nothing to compare", []
    if tightest(stored, None, history=(value, 0.0))[0] != "history_bound":
        return f"history-priced bound {value:,.2f} is not tighter than the stored {kind_name(kind)}", []
    written = _switch(folder, episodes, rows, run, "history_bound", value)
    return f"tightest bound: history-priced {value:,.2f} (was {kind_label(kind)} {stored[0]:,.2f})", written


def add_lane_penalty(folder: Path, episodes: pd.DataFrame, rows: list[Row], run: dict[str, Any],
                     scenario: Scenario, count: int, n_workers: int = 1) -> tuple[str, list[Path]]:
    """The lane-penalty bound joins a stored run: solved on the run's first ``count`` seeds (an expectation,
    valid from any independent seeds), its mean, 95 % half-width and seeds recorded in ``run.json``'s
    ``lane_penalty_bound``; where its mean plus half-width is below the stored tightest bound's
    (``bound_choice.tightest``), every row's ``tightest_bound`` becomes its mean and the gaps follow
    (``_switch``). One line saying what happened, and the episode files written."""
    seeds = sorted(int(s) for s in episodes["seed"].unique())[:count]
    kind, stored = _stored_ci(episodes, run)  # before the record is replaced
    started = time.perf_counter()
    lane, why = seed_lane_penalty(scenario, seeds, n_workers)
    chosen = lane_prices(scenario) if lane else None
    run["lane_penalty_bound"] = lane_record(lane, why, time.perf_counter() - started,
                                            chosen[0] if chosen else None)
    if not lane:
        return f"no lane-penalty bound: {why}", []
    value, ci = run["lane_penalty_bound"]["value"], run["lane_penalty_bound"]["ci95"]
    if stored is None:
        return "the run stored no bounds (benchmarked without them): nothing to compare", []
    # a stored lane-penalty bound is the same bound estimated before: the new estimate replaces it
    if kind != "lane_penalty_bound" and tightest(stored, None, (value, ci))[0] != "lane_penalty_bound":
        return (f"lane-penalty bound {value:,.2f} ± {ci:,.2f} ({len(lane)} seeds) is not tighter than the "
                f"stored {kind_name(kind)}"), []
    written = _switch(folder, episodes, rows, run, "lane_penalty_bound", value)
    return (f"tightest bound: lane-penalty {value:,.2f} ± {ci:,.2f} on {len(lane)} seeds "
            f"(was {kind_label(kind)} {stored[0]:,.2f})"), written


def add_lagrangian(folder: Path, episodes: pd.DataFrame, rows: list[Row], run: dict[str, Any],
                   scenario: Scenario, n_workers: int = 1) -> tuple[str, list[Path]]:
    """The Lagrangian bound joins a stored run that lacks it: solved on the run's seeds (``lagrangian_seeds``:
    at least 100 where it is random), its record in ``run.json``'s ``lagrangian_bound``; where its mean plus
    half-width is below the stored tightest bound's, every row's ``tightest_bound`` becomes its mean
    (``_switch``). One line saying what happened, and the episode files written."""
    kind, stored = _stored_ci(episodes, run)
    if kind == "lagrangian_bound" and not run.get("lagrangian_bound"):
        return "the run holds the Lagrangian bound per seed already", []
    seeds = sorted(int(s) for s in episodes["seed"].unique())
    started = time.perf_counter()
    results, why = seed_lagrangian(scenario, lagrangian_seeds(scenario, seeds), n_workers)
    run["lagrangian_bound"] = lane_record(results, why, time.perf_counter() - started)
    if not results:
        return f"no Lagrangian bound: {why}", []
    value, ci = run["lagrangian_bound"]["value"], run["lagrangian_bound"]["ci95"]
    if stored is None:
        return "the run stored no bounds (benchmarked without them): nothing to compare", []
    if kind != "lagrangian_bound" and tightest(stored, (value, ci))[0] != "lagrangian_bound":
        return (f"Lagrangian bound {value:,.2f} ± {ci:,.2f} ({len(results)} seeds) is not tighter than the "
                f"stored {kind_name(kind)}"), []
    written = _switch(folder, episodes, rows, run, "lagrangian_bound", value)
    return (f"tightest bound: Lagrangian {value:,.2f} ± {ci:,.2f} on {len(results)} seeds "
            f"(was {kind_label(kind)} {stored[0]:,.2f} ± {stored[1]:,.2f})"), written


def rerender(folder: Path, scenario: Scenario | None = None, history: bool = False,
             say: Callable[[str], None] = print, lane_penalty: int = 0,
             lagrangian: bool = False) -> list[Path]:
    """Rewrite ``folder``'s summary, report and run record from its stored files; the paths written.
    ``scenario`` (its description and currency) defaults to the preset named in ``run.json``; ``history``
    adds the history-priced bound first (``add_history``), ``lane_penalty`` (a count of seeds, 0: none)
    the lane-penalty bound after it (``add_lane_penalty``), ``lagrangian`` the Lagrangian bound between them
    (``add_lagrangian``); their lines go to ``say``."""
    folder = Path(folder)
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    scenario = scenario or load_scenario(run["scenario"])
    episodes = pd.read_parquet(folder / "episodes.parquet")
    rows = [unflatten(r) for r in episodes.to_dict("records")]
    written: list[Path] = []
    if history:
        line, written = add_history(folder, episodes, rows, run, scenario)
        say(f"{folder}: {line}")
    if lagrangian:
        line, more = add_lagrangian(folder, episodes, rows, run, scenario)
        written = list(dict.fromkeys([*written, *more]))
        say(f"{folder}: {line}")
    if lane_penalty > 0:
        line, more = add_lane_penalty(folder, episodes, rows, run, scenario, lane_penalty)
        written = list(dict.fromkeys([*written, *more]))
        say(f"{folder}: {line}")
    interval = from_episodes(episodes[[c for c in episodes.columns if "." not in c]], run)
    rule, tight_kind = (interval.rule, interval.bound_kind) if interval is not None else (None, None)
    summary = share_columns(gap_closed(summary_frame(rows), rule, run.get("dp_value"), tight_kind), interval)
    paired = paired_frame(rows, str(summary["reference"].iloc[0]), COMPARED)
    info = RunInfo(
        scenario=run["scenario"], description=" ".join(scenario.description.split()), seeds=run["seeds"],
        workers=run["workers"], warm_up=run["warm_up"], wall_seconds=run["wall_seconds"],
        created=run["created"], demand_csv=run.get("demand_csv"), demand_resample=run.get("demand_resample"),
        params={k: {"params": v.get("params", {}), "source": v.get("source", "defaults")}
                for k, v in (run.get("policies") or {}).items()},
        bound_mean=run.get("bound_mean"), penalised_mean=run.get("penalised_bound_mean"),
        dp_value=run.get("dp_value"), currency=scenario.currency, timing=run.get("timing", "aggregated"),
        periods=run.get("periods", 0), interval=interval, history_bound=run.get("history_bound"),
        setup_seconds=run.get("setup_seconds"),
        lane_penalty_bound=run.get("lane_penalty_bound"), lagrangian_bound=run.get("lagrangian_bound"),
        contracts=has_contracts(scenario),
    )
    gap, holdback = (_table(folder, name) for name in OPTIONAL_TABLES)
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    page = report_html(summary, info, stored_images(folder), paired, rows, gap, holdback,
                       stored_stock(folder), files)
    return [
        *written,
        atomic_write(folder / "summary.csv", lambda p: summary.to_csv(p, index=False)),
        write_text(folder / "summary.md", summary_markdown(summary, info, rows)),
        write_text(folder / "report.html", page),
        write_text(folder / "run.json", json.dumps(run_record(info), indent=2) + "\n"),
    ]


def main(argv: list[str]) -> int:
    """Re-render every folder named; one line per folder."""
    parser = argparse.ArgumentParser(prog="python -m allocsim.experiments.rerender",
                                     description="Re-render stored benchmarks from their own files.")
    parser.add_argument("folders", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument("--history", action="store_true",
                        help="add the history-priced bound from shipped or cached prices (evaluated, never "
                             "fitted) and keep it where it is the tightest")
    parser.add_argument("--lane-penalty", type=int, default=0, metavar="SEEDS",
                        help="add the lane-penalty bound (DP presets), solved on the run's first SEEDS "
                             "seeds, and keep it where it is the tightest (small-dp: about 10 s a seed)")
    parser.add_argument("--lagrangian", action="store_true",
                        help="add the Lagrangian bound where the stored run lacks it (solved on its seeds, "
                             "at least 100 where random; fitted first if needed) and keep it where tightest")
    args = parser.parse_args(argv)
    if args.lane_penalty < 0:
        parser.error(f"--lane-penalty must be a count of seeds (0 or more), not {args.lane_penalty}")
    for folder in args.folders:
        if not (folder / "run.json").is_file() or not (folder / "episodes.parquet").is_file():
            parser.error(f"{folder} is not a stored benchmark (no run.json or episodes.parquet there)")
    for folder in args.folders:
        rerender(folder, history=args.history, lane_penalty=args.lane_penalty, lagrangian=args.lagrangian)
        print(f"re-rendered {folder}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
