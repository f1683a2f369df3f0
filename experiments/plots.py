"""The benchmark's figures as PNG bytes (matplotlib's object API on the Agg canvas, no pyplot state)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from allocsim.experiments.kpis import LOWER_IS_BETTER

ROLLING = 7  # periods in the moving window of the fill-rate series


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _finite(values: Sequence[float]) -> list[float]:
    return [0.0 if (v is None or math.isnan(v)) else float(v) for v in values]


def kpi_bars(summary: pd.DataFrame, kpis: Sequence[str]) -> bytes:
    """One panel per KPI: a bar per policy (ranked by profit) with its 95% CI as an error bar."""
    kpis = [k for k in kpis if f"{k}_mean" in summary]
    cols = min(4, len(kpis))
    rows = math.ceil(len(kpis) / cols)
    fig = Figure(figsize=(3.6 * cols + 1.2, (0.32 * len(summary) + 1.0) * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    labels = list(summary["policy"])
    y = np.arange(len(labels))
    colours = ["#2b6cb0" if i == 0 else "#90a4c0" for i in range(len(labels))]
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        means = _finite(summary[f"{kpi}_mean"])
        errs = _finite(summary[f"{kpi}_ci95"])
        ax.barh(y, means, xerr=errs, color=colours, capsize=3, ecolor="#333333")
        arrow = "lower is better" if kpi in LOWER_IS_BETTER else "higher is better"
        ax.set_title(f"{kpi}\n({arrow})", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(y, labels)
    axes[0, 0].invert_yaxis()
    for ax in axes[:, 0]:
        ax.tick_params(axis="y", labelsize=8)
    for ax in list(axes.flat)[len(kpis):]:
        ax.set_visible(False)
    fig.suptitle("KPI means with 95% confidence intervals (best rule by profit in dark blue)", fontsize=10)
    return _png(fig)


def _zoom(summary: pd.DataFrame) -> pd.DataFrame:
    """The policies near the best: profit within 10% of the best's magnitude of it."""
    best = float(summary["profit_mean"].max())
    near = summary[summary["profit_mean"] >= best - 0.1 * abs(best)]
    return near if 2 <= len(near) < len(summary) else summary.iloc[0:0]


def _scatter(ax: Any, summary: pd.DataFrame, colours: dict[str, Any], title: str) -> None:
    x = np.asarray(_finite(summary["fill_rate_mean"]))
    y = np.asarray(_finite(summary["profit_mean"]))
    front = summary["pareto"].to_numpy(bool)
    ax.errorbar(
        x, y, xerr=_finite(summary["fill_rate_ci95"]), yerr=_finite(summary["profit_ci95"]),
        fmt="none", ecolor="#aaaaaa", capsize=3, zorder=1,
    )
    order = np.argsort(x[front])
    ax.plot(x[front][order], y[front][order], color="#c53030", lw=1.2, ls="--", zorder=2)
    for xi, yi, name, on_front in zip(x, y, summary["policy"], front, strict=True):
        ax.scatter(
            xi, yi, s=80 if on_front else 45, marker="D" if on_front else "o", color=colours[name],
            edgecolors="#c53030" if on_front else "none", linewidths=1.6, zorder=3,
        )
    ax.set_xlabel("service: fill_rate (%)")
    ax.set_ylabel("margin: profit")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)


def service_margin(summary: pd.DataFrame) -> bytes:
    """Fill rate against profit with CIs; Pareto front as red-edged diamonds joined by a dashed line.

    A second panel zooms on the rules whose profit is within 10% of the best.
    """
    zoom = _zoom(summary)
    panels = 2 if len(zoom) else 1
    fig = Figure(figsize=(6.0 * panels + 2.2, 4.8), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    palette = matplotlib.colormaps["tab10" if len(summary) <= 10 else "tab20"]
    colours = {name: palette(i % palette.N) for i, name in enumerate(summary["policy"])}
    _scatter(axes[0], summary, colours, "All rules (up and right is better)")
    if len(zoom):
        _scatter(axes[1], zoom, colours, "Zoom: profit within 10% of the best")
    handles = [
        Line2D([], [], ls="", marker="D" if front else "o", color=colours[name],
               markeredgecolor="#c53030" if front else "none", label=f"{name}{' (front)' if front else ''}")
        for name, front in zip(summary["policy"], summary["pareto"], strict=True)
    ]
    fig.legend(handles=handles, loc="outside right center", fontsize=8, title="rule", title_fontsize=8)
    return _png(fig)


def over_time(trace: pd.DataFrame, policies: Sequence[str]) -> bytes:
    """Inventory value and moving-window fill rate by location over time, one column per policy."""
    cols = max(1, len(policies))
    fig = Figure(figsize=(6.0 * cols, 7.0), layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False, sharex=True)
    for c, policy in enumerate(policies):
        part = trace[trace["policy"] == policy]
        stock_ax, fill_ax = axes[0, c], axes[1, c]
        for location, series in part.groupby("location", sort=False):
            series = series.sort_values("period")
            stock_ax.plot(series["period"], series["inventory_value"], lw=1.2, label=location)
            requested = series["units_requested"].rolling(ROLLING, min_periods=1).sum()
            if requested.sum() <= 0:
                continue  # the DC serves no customers
            served = series["units_fulfilled"].rolling(ROLLING, min_periods=1).sum()
            rate = 100.0 * served / requested.where(requested > 0)
            fill_ax.plot(series["period"], rate, lw=1.2, label=location)
        seed = int(part["seed"].iloc[0]) if len(part) else -1
        stock_ax.set_title(f"{policy} (seed {seed})", fontsize=10)
        stock_ax.set_ylabel("inventory value at cost")
        fill_ax.set_ylabel(f"fill_rate (%), {ROLLING}-period window")
        fill_ax.set_xlabel("period")
        fill_ax.set_ylim(0, 105)
        for ax in (stock_ax, fill_ax):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="best")
    fig.suptitle("Inventory and fill rate over time by location: the two best rules", fontsize=11)
    return _png(fig)
