"""Pictures of the network for ``render()``: ``ansi`` text and an ``rgb_array`` image.

The image (matplotlib's Agg backend, no display, no pyplot state) shows, for the
period about to be decided: stock on hand and in transit at each location against
its capacity, the DC's stock and open supplier orders per SKU, and each location's
backlog. One figure is kept per env and redrawn, so rendering every step of a video
allocates no new figure. matplotlib is imported only when the first image is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.network import BIG
from allocsim.envs.state import AllocationState

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 80  # 640 x 360 pixels
ON_HAND, IN_TRANSIT, CAPACITY, BACKLOG, DC, ON_ORDER = (
    "#4477aa", "#88ccee", "#222222", "#cc3311", "#228833", "#a5d6a7",
)


def ansi(state: AllocationState) -> str:
    """A few lines of text: period, DC stock and each location's stock per SKU."""
    net = state.net
    lines = [f"period {state.period}/{net.periods}  DC on hand {state.dc_on_hand.tolist()}"]
    for name, row in zip(net.locations, state.on_hand, strict=True):
        lines.append(f"  {name:>16}: {row.tolist()}")
    return "\n".join(lines)


class NetworkPicture:
    """One reusable Agg figure that draws an ``AllocationState`` into an RGB ``uint8`` array."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure: Figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        # fixed margins (no layout engine): the same state always draws the same pixels
        self.locations, self.dc = self.figure.subplots(
            1, 2, width_ratios=[3, 2],
            gridspec_kw={"left": 0.15, "right": 0.98, "bottom": 0.22, "top": 0.86, "wspace": 0.22},
        )

    def draw(self, state: AllocationState, title: str) -> NDArray[np.uint8]:
        """The picture of ``state`` as an (H, W, 3) ``uint8`` array."""
        self._draw_locations(state)
        self._draw_dc(state)
        self.figure.suptitle(f"{title} · period {state.period + 1} of {state.net.periods}", fontsize=11)
        self.canvas.draw()
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()

    def _draw_locations(self, state: AllocationState) -> None:
        ax, net = self.locations, state.net
        ax.clear()
        rows = np.arange(len(net.locations))
        on_hand = state.on_hand.sum(axis=1)
        inbound = state.inbound.sum(axis=1)
        backlog = state.backlog.sum(axis=(1, 2))
        ax.barh(rows, on_hand, color=ON_HAND, label="on hand")
        ax.barh(rows, inbound, left=on_hand, color=IN_TRANSIT, label="in transit")
        ax.barh(rows, -backlog, color=BACKLOG, label="backlog")
        capped = net.capacity < BIG
        ax.scatter(net.capacity[capped], rows[capped], marker="|", s=400, color=CAPACITY, label="capacity",
                   zorder=3)
        ax.axvline(0, color="#888888", linewidth=0.8)
        ax.set_yticks(rows, list(net.locations), fontsize=8)
        ax.invert_yaxis()
        top = max(float(np.max(on_hand + inbound, initial=0)),
                  float(np.max(net.capacity[capped], initial=0)), 1.0)
        ax.set_xlim(-max(float(np.max(backlog, initial=0)), 0.05 * top) * 1.1, top * 1.1)
        ax.set_xlabel("units (all SKUs)", fontsize=8)
        ax.set_title("locations", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, frameon=False)

    def _draw_dc(self, state: AllocationState) -> None:
        ax, net = self.dc, state.net
        ax.clear()
        cols = np.arange(len(net.skus))
        ax.bar(cols, state.dc_on_hand, color=DC, label="DC on hand")
        ax.bar(cols, state.dc_on_order, bottom=state.dc_on_hand, color=ON_ORDER, label="on order")
        ax.set_xticks(cols, list(net.skus), fontsize=7)
        ax.set_ylim(0, max(float(np.max(state.dc_on_hand + state.dc_on_order, initial=0)), 1.0) * 1.15)
        ax.set_ylabel("units", fontsize=8)
        ax.set_title("distribution centre", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)

    def close(self) -> None:
        self.figure.clear()
