"""The results table of ``allocsim results``: one row per scenario from its stored benchmark files.

Nothing here trains or plays: each function reads a benchmark folder (``summary.csv``, ``episodes.csv``,
``run.json``, the manifest) or formats rows read from one, so the README is rebuilt from disk alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from allocsim.agents import runfiles
from allocsim.baselines.registry import best_tuned_rule
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.experiments.bound_choice import kind_label
from allocsim.experiments.reference_interval import (
    DP_OPTIMUM,
    ReferenceInterval,
    from_episodes,
    gap_reference,
)
from allocsim.experiments.run_folder import read_manifest
from allocsim.experiments.stats import paired_diff


def headline(bench: Path, algo: str) -> dict[str, Any] | None:
    """The table row of one scenario's benchmark: the best tuned rule (``best_tuned_rule`` of the played
    policies: a played sp-mpc counts, random, hold, dp and rollout never), learned seeds, paired
    difference."""
    if not (bench / "summary.csv").is_file():
        return None
    summary = pd.read_csv(bench / "summary.csv").set_index("policy")
    episodes = pd.read_csv(bench / "episodes.csv")
    learned = [p for p in summary.index if str(p).startswith(f"{algo}-seed")]
    best_rule = best_tuned_rule(summary["profit_mean"].to_dict())
    if not learned or best_rule is None:
        return None
    best = max(learned, key=lambda p: summary.loc[p, "profit_mean"])
    wide = episodes.pivot(index="seed", columns="policy", values="profit")
    diff = paired_diff(wide[best].to_numpy(float), wide[best_rule].to_numpy(float))
    profits = [float(summary.loc[p, "profit_mean"]) for p in learned]
    run = json.loads((bench / "run.json").read_text(encoding="utf-8"))
    return {
        "scenario": run["scenario"], "episodes": len(wide), "seeds": len(learned),
        "best_rule": best_rule, "rule_profit": float(summary.loc[best_rule, "profit_mean"]),
        "rule_fill": float(summary.loc[best_rule, "fill_rate_mean"]),
        "best_seed": best, "learned_profit": float(summary.loc[best, "profit_mean"]),
        "learned_fill": float(summary.loc[best, "fill_rate_mean"]),
        "diff": diff.mean, "diff_ci": diff.half_width,
        "diff_pct": 100 * diff.mean / max(abs(float(summary.loc[best_rule, "profit_mean"])), 1e-9),
        "seed_spread_pct": 100 * (max(profits) - min(profits)) / max(abs(max(profits)), 1e-9),
        "bound": run.get("bound_mean"), "dp": run.get("dp_value"),
    }


def seed_number(row: dict[str, Any]) -> int:
    """The training seed of a headline row's best learned policy (``ppo-seed3`` -> 3)."""
    return int(row["best_seed"].rsplit("seed", 1)[1])


def kept_steps(run_dir: Path) -> int | None:
    """The env steps of the checkpoint a run keeps (``best/``); 0 means the warm start's clone itself."""
    stamp = run_dir / runfiles.BEST / runfiles.BEST_STAMP
    return int(json.loads(stamp.read_text(encoding="utf-8"))["timesteps"]) if stamp.is_file() else None


def reference_columns(row: dict[str, Any]) -> tuple[str, str, str]:
    """The rule's and the learned policy's gap to the gap reference (``gap_reference``: the DP optimum,
    else the tightest bound) in %, and the share of the rule's gap the learned policy closes."""
    found = gap_reference(row["dp"], row.get("tightest"), row.get("tightest_kind"))
    if not found or not found[1]:
        return "–", "–", "–"
    reference = found[1]
    rule_gap = reference - row["rule_profit"]
    learned_gap = reference - row["learned_profit"]
    closed = f"{100 * (rule_gap - learned_gap) / rule_gap:+.0f}" if rule_gap > 0 else "–"
    return (f"{100 * rule_gap / abs(reference):.2f}", f"{100 * learned_gap / abs(reference):.2f}", closed)


def _money(value: float, scale: float | None = None, sign: bool = False) -> str:
    """Whole units when ``scale`` (default the value) is 1,000 or more, else two decimals."""
    digits = 0 if abs(value if scale is None else scale) >= 1000 else 2
    return f"{value:{'+' if sign else ''},.{digits}f}"


def table_markdown(rows: list[dict[str, Any]], algo: str = "ppo") -> str:
    """The results table as Markdown; ``algo`` names the learned columns (PPO, DCL)."""
    name = algo.upper()
    head = (f"| scenario | best tuned rule (profit, fill %) | best {name} seed (profit, fill %) | "
            "Δ profit, paired 95% CI | Δ % | seeds | spread across seeds % | DP optimum | "
            f"tightest bound | mean bound | rule's gap to gap reference % | {name}'s gap % | "
            "share of the rule's gap closed % | kept checkpoint (steps) |\n"
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        dp = _money(r["dp"]) if r["dp"] is not None else "–"
        bound = _money(r["bound"]) if r["bound"] is not None else "–"
        tightest = (f"{kind_label(r['tightest_kind'])} {_money(r['tightest'])}"
                    if r.get("tightest") is not None else "–")
        rule_gap, learned_gap, closed = reference_columns(r)
        kept = "–" if r.get("kept_steps") is None else f"{r['kept_steps']:,}"
        lines.append(
            f"| {r['scenario']} | {r['best_rule']} {_money(r['rule_profit'])}, {r['rule_fill']:.2f} | "
            f"{r['best_seed']} {_money(r['learned_profit'])}, {r['learned_fill']:.2f} | "
            f"{_money(r['diff'], r['rule_profit'], sign=True)} ± {_money(r['diff_ci'], r['rule_profit'])} | "
            f"{r['diff_pct']:+.2f} | "
            f"{r['seeds']} | {r['seed_spread_pct']:.2f} | {dp} | {tightest} | {bound} | {rule_gap} | "
            f"{learned_gap} | {closed} | {kept} |"
        )
    return head + "\n".join(lines) + "\n"


def interval_of(bench: Path) -> ReferenceInterval | None:
    """The reference interval of one scenario's stored benchmark (nothing is played again), from the
    same best tuned rule as ``headline``."""
    if not (bench / "episodes.csv").is_file() or not (bench / "run.json").is_file():
        return None
    episodes = pd.read_csv(bench / "episodes.csv", usecols=lambda c: "." not in c)
    run = json.loads((bench / "run.json").read_text(encoding="utf-8"))
    return from_episodes(episodes, run)


_INTERVAL_NOTE = (
    "## Reference interval\n\nPer scenario, from the stored benchmark's episodes (nothing played again): the "
    f"best achievable (the {DP_OPTIMUM} where the scenario has one, else the best policy of any kind on the "
    "test episodes), the tightest valid upper bound on the expected profit (of the bounds the benchmark "
    "solved, the one with the lowest upper 95 % limit; the history-priced bound, an exact expectation "
    "from the prices shipped with the package, joins a stored run through "
    "`python -m allocsim.experiments.rerender --history`, and the lane-penalty bound of the DP presets, a "
    "mean over the seeds it is solved on with its 95 % CI, through `rerender --lane-penalty SEEDS`; "
    "runs from before the Lagrangian bound joined "
    "the benchmark stored only the penalised bound), the gap between them with its paired 95 % CI, and each "
    "policy's share of the gap between the best tuned rule and the best achievable, "
    "100 × (policy − rule) / (best achievable − rule). Definitions: "
    "{definitions}.\n\n"
)


def interval_note(readme_dir: Path) -> str:
    """The reference-interval section's note for a README written into ``readme_dir``: its link to
    docs/bounds.md relative to that folder (``results/dcl/`` is one level deeper than ``results/``), or
    the page named without a link when the folder is outside the repository."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "bounds.md")
    here = readme_dir.resolve()
    if docs.is_file() and here.is_relative_to(docs.parents[1]):
        link = Path(os.path.relpath(docs, here)).as_posix()
        definitions = f"[docs/bounds.md]({link}#the-reference-interval)"
    else:
        definitions = "docs/bounds.md of the repository, section The reference interval"
    return _INTERVAL_NOTE.replace("{definitions}", definitions)


def stream_note(benches: list[Path]) -> str:
    """One sentence naming the demand stream(s) the stored benchmarks were played on (manifests before
    streams were versioned: stream 1), which rows are on which when they differ, and whether that is
    the simulator's current stream."""
    by_stream: dict[int, list[str]] = {}
    for bench in benches:
        if bench.is_dir():
            stream = int((read_manifest(bench) or {}).get("demand_stream", 1))
            by_stream.setdefault(stream, []).append(bench.name)
    streams = sorted(by_stream)
    if not streams:
        return ""
    now = ("the simulator's current stream" if streams == [DEMAND_STREAM] else f"the simulator now draws "
           f"stream {DEMAND_STREAM}: re-run `make results` to compare number for number")
    if len(streams) == 1:
        return f"Played on demand stream {streams[0]} ({now}).\n\n"
    rows = " and ".join(f"stream {v} ({', '.join(by_stream[v])})" for v in streams)
    return f"Played on demand {rows}; {now}.\n\n"


def carry_label(algo: str, source: str) -> str:
    """The benchmark label of the policy trained on ``source`` and played unchanged on another scenario."""
    return f"{algo}-from-{source}"


def carry_over_row(bench: Path, algo: str, source: str) -> dict[str, Any] | None:
    """The policy carried over from ``source`` against tuned base-stock and against the best seed trained
    on the scenario itself, paired over the benchmark's episodes; None when it was not played there."""
    if not (bench / "summary.csv").is_file():
        return None
    summary = pd.read_csv(bench / "summary.csv").set_index("policy")
    carried, rule = carry_label(algo, source), "base-stock"
    own = [p for p in summary.index if str(p).startswith(f"{algo}-seed")]
    if carried not in summary.index or rule not in summary.index or not own:
        return None
    wide = pd.read_csv(bench / "episodes.csv").pivot(index="seed", columns="policy", values="profit")
    best = max(own, key=lambda p: summary.loc[p, "profit_mean"])
    gain = paired_diff(wide[carried].to_numpy(float), wide[rule].to_numpy(float))
    own_gain = paired_diff(wide[best].to_numpy(float), wide[rule].to_numpy(float))
    versus = paired_diff(wide[carried].to_numpy(float), wide[best].to_numpy(float))
    return {"scenario": bench.name, "source": source, "carried": carried, "best_seed": best,
            "episodes": len(wide), "gain": gain, "own_gain": own_gain, "versus_own": versus,
            "share_pct": 100 * gain.mean / own_gain.mean if own_gain.mean > 0 else None,
            "fill": float(summary.loc[carried, "fill_rate_mean"]),
            "rule_fill": float(summary.loc[rule, "fill_rate_mean"])}


def carry_over_markdown(rows: list[dict[str, Any]]) -> str:
    """The README section on carry-over: one row per scenario that plays a policy trained elsewhere."""
    if not rows:
        return ""
    head = ("\n## Carry-over to a larger network\n\nThe best seed trained on the source scenario "
            "(its `policy.onnx`) played unchanged on the scenario, beside tuned base-stock and the seeds "
            "trained there, on the same test episodes (paired 95 % CIs). Share of the gain: the carried "
            "policy's gain over base-stock as a share of the best seed trained on the scenario itself.\n\n"
            "| scenario | trained on | Δ profit vs base-stock | fill % (base-stock) | best seed trained "
            "here, Δ vs base-stock | carried − that seed | share of its gain % |\n"
            "|---|---|---:|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        share = "–" if r["share_pct"] is None else f"{r['share_pct']:.0f}"
        gain, own, versus = r["gain"], r["own_gain"], r["versus_own"]
        lines.append(f"| {r['scenario']} | {r['source']} | {gain.mean:+,.0f} ± {gain.half_width:,.0f} | "
                     f"{r['fill']:.2f} ({r['rule_fill']:.2f}) | {r['best_seed']} {own.mean:+,.0f} ± "
                     f"{own.half_width:,.0f} | {versus.mean:+,.0f} ± {versus.half_width:,.0f} | {share} |")
    return head + "\n".join(lines) + "\n"
