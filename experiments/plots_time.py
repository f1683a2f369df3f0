"""The benchmark's time figure: per-period series of the leading rules across seeds (median and band).

One column per leading rule: each panel draws the rule's median over the traced seeds and the band
between the 10th and 90th percentiles (``traces.Trace.network`` rows); bands of several rules in one
panel overlap into a smear, so the first rule's median is repeated in grey as the reference instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from allocsim.experiments.plots import png, styles

ROLLING = 7  # periods in the moving window of fill rate and lost sales
BAND = (0.10, 0.90)

Series = Callable[[pd.DataFrame], pd.Series]


def _rolling_fill(part: pd.DataFrame) -> pd.Series:
    served = part["units_fulfilled"].rolling(ROLLING, min_periods=1).sum()
    asked = part["units_requested"].rolling(ROLLING, min_periods=1).sum()
    return 100.0 * served / asked.where(asked > 0)


def _rolling_lost(part: pd.DataFrame) -> pd.Series:
    return part["lost_sales_units"].rolling(ROLLING, min_periods=1).mean()


def _band(ax: Axes, network: pd.DataFrame, policy: str, series: Series, colour: object, ls: str = "-",
          label: str | None = None, band: bool = True) -> None:
    """Median and (``band``) the 10-90% band of ``series`` over the seeds of ``policy``."""
    per_seed = [series(part.sort_values("period")).set_axis(part.sort_values("period")["period"].to_numpy())
                for _, part in network[network["policy"] == policy].groupby("seed")]
    if not per_seed:
        return
    wide = pd.concat(per_seed, axis=1)
    ax.plot(wide.index, wide.median(axis=1), color=colour, lw=1.6 if band else 1.0, ls=ls,
            label=label or policy)
    if band:
        ax.fill_between(wide.index, wide.quantile(BAND[0], axis=1), wide.quantile(BAND[1], axis=1),
                        color=colour, alpha=0.2, lw=0)


def over_time(network: pd.DataFrame, policies: Sequence[str], currency: str) -> bytes:
    """Fill rate, lost sales, DC stock against supplier receipts, and working capital over time: one column
    per leading rule (shared axes per row), so each band stays readable; the first rule's median is drawn
    in grey in the other columns as the line to compare with."""
    look = styles(list(policies))
    seeds = network["seed"].nunique() if len(network) else 0
    cols = max(len(policies), 1)
    fig = Figure(figsize=(4.4 * cols + 0.6, 10.5), layout="constrained")
    axes = fig.subplots(4, cols, sharex=True, sharey="row", squeeze=False)
    rows: list[tuple[str, Series]] = [
        (f"Fill rate (%), {ROLLING}-period window", _rolling_fill),
        (f"Lost sales (units/period, {ROLLING}-period mean)", _rolling_lost),
        ("DC on hand (solid), supplier receipts (dotted)", lambda p: p["dc_units"]),
        (f"Working capital ({currency})", lambda p: p["working_capital"]),
    ]
    first = policies[0] if policies else None
    for col, policy in enumerate(policies):
        colour = look[policy][0]
        for row, (title, series) in enumerate(rows):
            ax = axes[row, col]
            if first is not None and policy != first:
                _band(ax, network, first, series, "#a0aec0", ls="--", label=f"{first} (median)", band=False)
            _band(ax, network, policy, series, colour)
            if row == 2:
                _band(ax, network, policy, lambda p: p["supplier_units"], colour, ls=":", label="receipts")
            ax.set_title(f"{policy}: {title}" if row == 0 else title, fontsize=9)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
        axes[3, col].axhline(0, color="#444444", lw=0.8)
        axes[3, col].set_xlabel("period")
        if policy != first:
            axes[0, col].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Leading rules over time, one column each: median of {seeds} seed(s), band = "
                 f"{int(BAND[0] * 100)}th-{int(BAND[1] * 100)}th percentile; grey dashed: {first}'s median",
                 fontsize=11)
    return png(fig)
