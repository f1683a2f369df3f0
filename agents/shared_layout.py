"""Which entries of the observation and of the action belong to which location, for any number of them.

A network shared across locations (``allocsim.agents.shared_net``) reads each location's
features, the network's features and each lane's, and writes each location's, the network's
and each lane's slice of the action. Both layouts come from the env's own descriptions:

* the observation: ``ObservationLayout.describe()`` (or a policy card's ``observation_layout``):
  network blocks first, then the per-location blocks of shape (L, S), then network blocks again;
* the action: ``ActionMode.blocks()`` and ``ActionMode.axes()``: a block's axes say which part
  it belongs to (``location`` x ``sku``: the locations; ``sku`` x ``destination``: the locations
  and, in its last column, the DC; ``lane`` x ``sku``: the lanes; ``sku``: the network).

``ObservationParts`` and ``ActionParts`` hold only what does not change with the number of
locations and lanes (block counts, SKUs), so one policy runs on any network of the same SKUs
and channels; their ``*_index`` methods give the index arrays for a given size. Numpy only: the
torch-free runtime uses ``ObservationParts`` to accept observations of a larger network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class ObservationParts:
    """The observation as ``head`` network entries, ``blocks`` blocks of (L, S), ``tail`` network entries."""

    head: int
    blocks: int
    skus: int
    tail: int

    @classmethod
    def of(cls, layout: Sequence[Mapping[str, Any]], n_locations: int, n_skus: int) -> ObservationParts:
        """From a layout description (``name``, ``shape``, ``start``, ``stop`` per block, in order).

        ValueError when the (L, S) blocks are not consecutive or a block has another shape.
        """
        kinds = [_block_kind(list(b["shape"]), n_locations, n_skus) for b in layout]
        sizes = [int(b["stop"]) - int(b["start"]) for b in layout]
        local = [i for i, kind in enumerate(kinds) if kind == "location"]
        if not local or local != list(range(local[0], local[-1] + 1)):
            raise ValueError("the observation's per-location blocks are not consecutive (L, S) blocks")
        return cls(head=sum(sizes[: local[0]]), blocks=len(local), skus=n_skus,
                   tail=sum(sizes[local[-1] + 1:]))

    @property
    def features(self) -> int:
        """Entries per location."""
        return self.blocks * self.skus

    @property
    def network(self) -> int:
        """Entries of the network (DC, calendar): ``head + tail``."""
        return self.head + self.tail

    def width(self, n_locations: int) -> int:
        """Observation size of a network of ``n_locations``."""
        return self.network + n_locations * self.features

    def locations(self, width: int) -> int:
        """The number of locations an observation of ``width`` entries has; ValueError when none fits."""
        count, rest = divmod(width - self.network, self.features)
        if rest or count < 1:
            raise ValueError(f"an observation of {width} values fits no network of these SKUs "
                             f"({self.network} + {self.features} per location)")
        return count

    def location_index(self, n_locations: int) -> IntArray:
        """(L, blocks x S): entry ``b x S + s`` of location ``l`` is block ``b``'s (l, s) entry."""
        block, loc, sku = np.meshgrid(np.arange(self.blocks), np.arange(n_locations), np.arange(self.skus),
                                      indexing="ij")
        index = self.head + block * n_locations * self.skus + loc * self.skus + sku  # (blocks, L, S)
        return np.ascontiguousarray(index.transpose(1, 0, 2).reshape(n_locations, -1)).astype(np.int64)

    def network_index(self, n_locations: int) -> IntArray:
        """(head + tail,): the network's entries, head then tail."""
        end = self.width(n_locations)
        return np.concatenate([np.arange(self.head), np.arange(end - self.tail, end)]).astype(np.int64)

    def to_dict(self) -> dict[str, int]:
        return {"head": self.head, "blocks": self.blocks, "skus": self.skus, "tail": self.tail}


def _block_kind(shape: list[int], n_locations: int, n_skus: int) -> str:
    """``location`` for an (L, S) block, ``network`` for a flat one; ValueError otherwise."""
    if len(shape) == 1:
        return "network"
    if shape == [n_locations, n_skus]:
        return "location"
    raise ValueError(f"an observation block of shape {shape} is neither per network nor (L, S)")


@dataclass(frozen=True)
class Parts:
    """Index arrays into the flat action: locations (L, A_l), the network (A_g,), lanes (K, A_k)."""

    location: IntArray
    network: IntArray
    lanes: IntArray


Split = tuple[IntArray | None, IntArray | None, IntArray | None]


@dataclass(frozen=True)
class BlockRule:
    """How an action block of given axes splits into parts: S-column counts per (location, network,
    lane), its length per SKU on L locations and K lanes, and the split of its flat indices."""

    columns: tuple[int, int, int]
    length: Callable[[int, int], int]
    split: Callable[[IntArray, int, int, int], Split]  # (indices, L, K, S) -> (L, S), (S,), (K, S) or None


def _destination(ix: IntArray, n_l: int, _k: int, n_s: int) -> Split:
    grid = ix.reshape(n_s, n_l + 1)
    return grid[:, :n_l].T, grid[:, n_l], None


#: Action block axes (``ActionMode.axes``) -> how the block splits into parts.
BLOCK_RULES: dict[tuple[str, ...], BlockRule] = {
    ("location", "sku"): BlockRule((1, 0, 0), lambda n_l, _k: n_l,
                                   lambda ix, n_l, _k, n_s: (ix.reshape(n_l, n_s), None, None)),
    ("sku", "destination"): BlockRule((1, 1, 0), lambda n_l, _k: n_l + 1, _destination),
    ("lane", "sku"): BlockRule((0, 0, 1), lambda _l, n_k: n_k,
                               lambda ix, _l, n_k, n_s: (None, None, ix.reshape(n_k, n_s))),
    ("sku",): BlockRule((0, 1, 0), lambda _l, _k: 1, lambda ix, _l, _k, _s: (None, ix, None)),
}


@dataclass(frozen=True)
class ActionParts:
    """The action's blocks in order, each with its axes (``ActionMode.axes``), and the SKU count."""

    blocks: tuple[tuple[str, tuple[str, ...]], ...]
    skus: int

    @classmethod
    def of(cls, axes: Mapping[str, Sequence[str]], n_skus: int) -> ActionParts:
        """From ``ActionMode.axes()`` (block order kept); ValueError for axes no part takes."""
        blocks = tuple((name, tuple(a)) for name, a in axes.items())
        unknown = [name for name, a in blocks if a not in BLOCK_RULES]
        if unknown:
            raise ValueError(f"action block {unknown[0]!r} has axes no shared network part takes")
        return cls(blocks, n_skus)

    def _count(self, part: int) -> int:
        """S-column count of part ``part`` (0 location, 1 network, 2 lane)."""
        return sum(BLOCK_RULES[axes].columns[part] for _, axes in self.blocks)

    @property
    def location_width(self) -> int:
        """Action entries each location writes."""
        return self._count(0) * self.skus

    @property
    def network_width(self) -> int:
        """Action entries the network (pooled context) writes."""
        return self._count(1) * self.skus

    @property
    def lane_width(self) -> int:
        """Action entries each lane writes."""
        return self._count(2) * self.skus

    def size(self, n_locations: int, n_lanes: int) -> int:
        return sum(BLOCK_RULES[axes].length(n_locations, n_lanes) for _, axes in self.blocks) * self.skus

    def index(self, n_locations: int, n_lanes: int) -> Parts:
        """Where each part's outputs go in the flat action of a network of this size (a partition)."""
        n_s, offset = self.skus, 0
        location, network, lanes = [], [], []
        for _, axes in self.blocks:
            rule = BLOCK_RULES[axes]
            size = rule.length(n_locations, n_lanes) * n_s
            loc, net, lane = rule.split(np.arange(offset, offset + size), n_locations, n_lanes, n_s)
            offset += size
            for out, got in ((location, loc), (network, net), (lanes, lane)):
                if got is not None:
                    out.append(got)
        return Parts(
            location=np.concatenate(location, axis=1) if location else np.zeros((n_locations, 0), np.int64),
            network=np.concatenate(network) if network else np.zeros(0, np.int64),
            lanes=np.concatenate(lanes, axis=1) if lanes else np.zeros((n_lanes, 0), np.int64),
        )

    def to_list(self) -> list[list[Any]]:
        return [[name, list(axes)] for name, axes in self.blocks]
