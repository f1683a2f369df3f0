"""The benchmark's time figure: per-period series of the leading rules across seeds (median and band).

Each panel draws, for each leading rule, the median over the traced seeds and the band
between the 10th and 90th percentiles, from ``traces.Trace.network`` rows.
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
          label: str | None = None) -> None:
    """Median and 10-90% band of ``series`` over the seeds of ``policy``."""
    per_seed = [series(part.sort_values("period")).set_axis(part.sort_values("period")["period"].to_numpy())
                for _, part in network[network["policy"] == policy].groupby("seed")]
    if not per_seed:
        return
    wide = pd.concat(per_seed, axis=1)
    ax.plot(wide.index, wide.median(axis=1), color=colour, lw=1.6, ls=ls, label=label or policy)
    ax.fill_between(wide.index, wide.quantile(BAND[0], axis=1), wide.quantile(BAND[1], axis=1),
                    color=colour, alpha=0.15, lw=0)


def over_time(network: pd.DataFrame, policies: Sequence[str], currency: str) -> bytes:
    """Fill rate, lost sales, DC stock against supplier receipts, and working capital over time."""
    look = styles(list(policies))
    seeds = network["seed"].nunique() if len(network) else 0
    fig = Figure(figsize=(13.0, 8.0), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    panels: list[tuple[Axes, str, Series]] = [
        (axes[0, 0], f"Fill rate (%), {ROLLING}-period window", _rolling_fill),
        (axes[0, 1], f"Lost sales (units per period, {ROLLING}-period mean)", _rolling_lost),
        (axes[1, 1], f"Operating working capital ({currency}): stock + receivables - payables",
         lambda p: p["working_capital"]),
    ]
    for ax, title, series in panels:
        for policy in policies:
            _band(ax, network, policy, series, look[policy][0])
        ax.set_title(title, fontsize=10)
    dc = axes[1, 0]
    for policy in policies:
        colour = look[policy][0]
        _band(dc, network, policy, lambda p: p["dc_units"], colour, label=f"{policy}: DC on hand")
        _band(dc, network, policy, lambda p: p["supplier_units"], colour, ls=":",
              label=f"{policy}: supplier receipts")
    dc.set_title("DC stock (solid) against supplier receipts (dotted), units per period", fontsize=10)
    axes[1, 1].axhline(0, color="#444444", lw=0.8)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in axes[1]:
        ax.set_xlabel("period")
    axes[0, 0].legend(fontsize=8, loc="lower left", title="rule", title_fontsize=8)
    dc.legend(fontsize=7, loc="upper right", ncols=2)
    fig.suptitle(f"Leading rules over time: median of {seeds} seed(s), band = "
                 f"{int(BAND[0] * 100)}th-{int(BAND[1] * 100)}th percentile", fontsize=11)
    return png(fig)
