"""The benchmark's comparison figures as PNG bytes (matplotlib's object API on Agg, no pyplot state).

Differences are paired (policy - best policy, seed by seed) with paired 95% intervals, so the
axes show what separates the serious rules. Rules far below the best (a profit gap more than
``OFF_SCALE`` times the median gap of the others, typically ``hold`` and ``random``) would
squash those axes: they are left out of the zoomed panels and named in a note and a side panel.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from allocsim.experiments.comparisons import describe
from allocsim.experiments.kpi_labels import label

OFF_SCALE = 5.0  # a profit gap this many times the median gap leaves the zoomed axes
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "h", "*", "p")


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def styles(policies: Sequence[str]) -> dict[str, tuple[object, str]]:
    """A distinct (colour, marker) per policy, in ranking order, the same in every figure."""
    palette = matplotlib.colormaps["tab10" if len(policies) <= 10 else "tab20"]
    return {p: (palette(i % palette.N), MARKERS[i % len(MARKERS)]) for i, p in enumerate(policies)}


def off_scale(summary: pd.DataFrame) -> list[str]:
    """Policies whose profit gap to the best exceeds ``OFF_SCALE`` x the median gap (at most half of them)."""
    gaps = float(summary["profit_mean"].max()) - summary["profit_mean"].astype(float)
    others = gaps[gaps > 0]
    if len(others) < 3:
        return []
    far = summary[gaps > OFF_SCALE * float(others.median())]
    return [] if len(far) > len(summary) // 2 else [str(p) for p in far["policy"]]


def _finite(v: float) -> float:
    return 0.0 if v is None or not math.isfinite(v) else float(v)


def paired_differences(
    paired: pd.DataFrame, summary: pd.DataFrame, kpis: Sequence[str], currency: str
) -> bytes:
    """One panel per KPI: each policy's paired difference to the best with its 95% CI; 0 = the best."""
    kpis = [k for k in kpis if k in set(paired["kpi"])]
    order = [str(p) for p in summary["policy"]]
    far = set(off_scale(summary))
    shown = [p for p in order if p not in far]
    ref = str(summary["reference"].iloc[0])
    look = styles(order)
    cols = min(3, len(kpis))
    rows = math.ceil(len(kpis) / cols)
    fig = Figure(figsize=(4.4 * cols + 1.0, (0.34 * len(shown) + 1.3) * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        part = paired[paired["kpi"] == kpi].set_index("policy")
        for y, policy in enumerate(shown):
            r = part.loc[policy]
            colour, marker = look[policy]
            ax.errorbar(_finite(r["mean"]), y, xerr=_finite(r["ci95"]), fmt=marker, color=colour,
                        ecolor=colour, capsize=3, markersize=6, mfc="white" if r["tie"] else colour)
        ax.axvline(0, color="#444444", lw=0.8)
        ax.set_title(describe(kpi, currency), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(range(len(shown)), shown)
    axes[0, 0].invert_yaxis()
    for ax in list(axes.flat)[len(kpis):]:
        ax.set_visible(False)
    note = f"; off scale, see the tables: {', '.join(sorted(far))}" if far else ""
    fig.suptitle(f"Paired difference to {ref} per episode with 95% CI (hollow marker: interval contains 0, "
                 f"a tie){note}", fontsize=10)
    return png(fig)


def _label_points(ax: Axes, xs: list[float], ys: list[float], names: list[str]) -> None:
    """Name every point in a column right of the axes, in the points' vertical order, joined by a leader
    line: labels never overlap however close the points are."""
    ranked = sorted(range(len(names)), key=lambda i: ys[i], reverse=True)
    for k, i in enumerate(ranked):
        slot = 0.96 - k * 0.92 / max(len(names) - 1, 1)
        ax.annotate(names[i], (xs[i], ys[i]), xytext=(1.03, slot), textcoords="axes fraction", fontsize=9,
                    va="center", annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": "#a0aec0", "lw": 0.8, "shrinkA": 2, "shrinkB": 5})


def _all_rules(ax: Axes, summary: pd.DataFrame, far: Sequence[str], look: dict[str, tuple[object, str]],
               currency: str) -> None:
    """Every rule in absolute terms, the off-scale ones named: where the zoomed panel sits."""
    near = summary[~summary["policy"].isin(far)]
    for _, row in summary.iterrows():
        policy = str(row["policy"])
        colour, marker = look[policy]
        x, y = _finite(row["fill_rate_mean"]), _finite(row["profit_mean"])
        ax.scatter(x, y, color=colour, marker=marker, s=36)
        if policy in far:
            right = x > 50.0  # label towards the middle, never off the panel
            ax.annotate(policy, (x, y), xytext=(-7 if right else 7, -12), textcoords="offset points",
                        fontsize=8, ha="right" if right else "left")
    ax.annotate(f"the {len(near)} rules\nof the left panel",
                (_finite(near["fill_rate_mean"].mean()), _finite(near["profit_mean"].mean())),
                xytext=(-60, -90), textcoords="offset points", fontsize=8, ha="right",
                arrowprops={"arrowstyle": "->", "color": "#718096", "lw": 0.8})
    ax.set_xlim(0, 100)
    ax.set_title("All rules, absolute means", fontsize=10)
    ax.set_xlabel(f"Fill rate ({label('fill_rate').unit})")
    ax.set_ylabel(f"Profit ({currency} per episode)")
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)


def service_margin(summary: pd.DataFrame, paired: pd.DataFrame, currency: str) -> bytes:
    """Paired Δ fill rate against paired Δ profit of every serious rule with both 95% CIs; the best at (0, 0).

    When rules are off scale, a side panel shows every rule's absolute fill rate and profit.
    """
    order = [str(p) for p in summary["policy"]]
    far = off_scale(summary)
    shown = [p for p in order if p not in far]
    ref = str(summary["reference"].iloc[0])
    look = styles(order)
    fill = paired[paired["kpi"] == "fill_rate"].set_index("policy")
    profit = paired[paired["kpi"] == "profit"].set_index("policy")
    fig = Figure(figsize=(13.0, 6.2), layout="constrained")
    ax, side = fig.subplots(1, 2, width_ratios=(3, 1.25)) if far else (fig.subplots(), None)
    xs, ys = [], []
    for policy in shown:
        colour, marker = look[policy]
        x, y = _finite(fill.loc[policy, "mean"]), _finite(profit.loc[policy, "mean"])
        ax.errorbar(x, y, xerr=_finite(fill.loc[policy, "ci95"]), yerr=_finite(profit.loc[policy, "ci95"]),
                    fmt=marker, color=colour, ecolor=colour, elinewidth=1, capsize=3, markersize=9,
                    label=policy, alpha=0.9)
        xs.append(x)
        ys.append(y)
    _label_points(ax, xs, ys, shown)
    ax.axhline(0, color="#888888", lw=0.8, ls="--")
    ax.axvline(0, color="#888888", lw=0.8, ls="--")
    ax.set_xlabel(f"Δ fill rate vs {ref} (percentage points, paired 95% CI)")
    ax.set_ylabel(f"Δ profit vs {ref} ({currency} per episode, paired 95% CI)")
    off = f"; off scale: {', '.join(far)}" if far else ""
    ax.set_title(f"Service against margin relative to {ref}, up and right is better{off}", fontsize=10)
    ax.grid(alpha=0.3)
    if side is not None:
        _all_rules(side, summary, far, look, currency)
    return png(fig)
