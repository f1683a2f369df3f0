"""A decision in whole units and the decision log's ``Trim`` records.

The guardrails themselves run compiled (``allocsim.envs.engine.decide``), in this order:
max days of supply and location capacity trim the allocation (capacity also trims
transfers; a location's row above its room is cut to exactly the room, in proportion, by
largest remainder: ``allocsim.core.unit_decode.cut_rows``, the rules' cut), supplier capacity
and then the working-capital cap trim orders, and transfers above a lane's approval
threshold wait its delay. A guardrail never invents stock or moves units elsewhere: it
only lowers quantities, so what it takes off a shipment stays at the DC (or the transfer
source), and what it takes off an order is not bought. Each trim becomes a ``Trim`` when
someone reads the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.network import Network

IntArray = NDArray[np.int64]


@dataclass
class Decision:
    """One period's decision in whole units."""

    allocation: IntArray  # (L, S) units from the DC to each location
    transfers: IntArray  # (K, S) units moved along each transfer lane
    orders: IntArray  # (S,) units ordered from the supplier
    transfer_delay: IntArray  # (K, S) extra periods waiting for approval


@dataclass(frozen=True, eq=False)
class Trim:
    """One guardrail's change to one part of the decision in one period."""

    period: int
    rule: str
    part: str  # "allocation", "transfers", "transfer_delay" (periods) or "orders"
    proposed: IntArray
    done: IntArray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trim):
            return NotImplemented
        return (
            (self.period, self.rule, self.part) == (other.period, other.rule, other.part)
            and np.array_equal(self.proposed, other.proposed)
            and np.array_equal(self.done, other.done)
        )

    __hash__ = None  # type: ignore[assignment]

    def rows(self, net: Network) -> Iterator[dict[str, object]]:
        """Flat records, one per changed entry: what was proposed, which rule, what was done."""
        for idx in zip(*np.nonzero(self.proposed != self.done), strict=True):
            row: dict[str, object] = {"period": self.period, "rule": self.rule, "part": self.part}
            if self.part == "allocation":
                row["location"], row["sku"] = net.locations[idx[0]], net.skus[idx[1]]
            elif self.part in ("transfers", "transfer_delay"):
                lane = int(idx[0])
                row["from"] = net.locations[net.lane_source[lane]]
                row["to"] = net.locations[net.lane_target[lane]]
                row["sku"] = net.skus[idx[1]]
            else:
                row["sku"] = net.skus[idx[0]]
            row["proposed"], row["done"] = int(self.proposed[idx]), int(self.done[idx])
            yield row
