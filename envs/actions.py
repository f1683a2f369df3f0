"""The action: a Box in [-1, 1] and the one function that turns it into whole units.

Layout of the flat action vector (all blocks row-major):

* ``allocation`` (S x (L + 1)): per SKU, a weight per location and, last, for
  keeping stock at the DC. Weights ``(a + 1) / 2`` are normalised to fractions of
  the SKU's available-to-allocate stock (all weights zero: keep everything).
* ``transfers`` (K x S, only when the scenario has transfer lanes): ``max(a, 0)``
  is the fraction of the source location's on-hand stock moved along the lane.
* ``orders`` (S, only when replenishment is given to the policy):
  ``(a + 1) / 2 x max_order`` units ordered from the supplier.
* ``holdback`` (L x S, only when the scenario has ``timing.holdback_decision``):
  ``(a + 1) / 2`` is the share of the location's on-hand stock (at the decision) kept
  from channels of lower priority than the protected ones this period
  (``allocsim.core.unit_decode.holdback_units`` rounds it to whole units).

This module is the continuous half of the decode (``fractions``, batch-aware); the
compiled half (``allocsim.envs.engine.decide``) turns fractions into whole units by
largest remainder, so units are conserved exactly, and applies the guardrails. Rule
sets build actions with ``encode`` and so pass through the very same decode as a
learned policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _finite_clipped(arr: FloatArray, where: str) -> FloatArray:
    """``arr`` clipped to [-1, 1]; ValueError naming the first NaN or inf entry."""
    if not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{where.format(*bad)} is {arr[bad]}; actions must be finite")
    return np.clip(arr, -1.0, 1.0)


def validate_flat(action: object, size: int) -> FloatArray:
    """An action as a flat float array clipped to [-1, 1], or ValueError naming what is wrong."""
    arr = np.asarray(action, dtype=np.float64)
    if arr.shape != (size,):
        raise ValueError(f"action has shape {arr.shape}, expected ({size},)")
    return _finite_clipped(arr, "action entry {}")


def validate_rows(actions: object, copies: int, size: int) -> FloatArray:
    """A (copies, size) batch of actions, clipped, or ValueError naming the copy and entry."""
    arr = np.asarray(actions, dtype=np.float64)
    if arr.shape != (copies, size):
        raise ValueError(f"actions have shape {arr.shape}, expected ({copies}, {size})")
    return _finite_clipped(arr, "action entry {1} of copy {0}")


@dataclass(frozen=True)
class Fractions:
    """The continuous part of a decoded action (what an exported policy outputs)."""

    allocation: FloatArray  # ([B,] S, L + 1) rows sum to 1, last column = keep at DC
    transfers: FloatArray  # ([B,] K, S) share of source stock
    orders: FloatArray  # ([B,] S,) share of max order
    holdback: FloatArray | None = None  # ([B,] L, S) share of on-hand held back; None: no holdback block


class ActionLayout:
    """Sizes and offsets of the action blocks of one network."""

    def __init__(self, net: Network) -> None:
        self.net = net
        s, n_l, k = net.n_skus, net.n_locations, net.n_lanes
        self.allocation = slice(0, s * (n_l + 1))
        self.transfers = slice(self.allocation.stop, self.allocation.stop + k * s)
        self.orders = slice(self.transfers.stop, self.transfers.stop + (s if net.policy_orders else 0))
        held = n_l * s if net.scenario.timing.holdback_decision is not None else 0
        self.holdback = slice(self.orders.stop, self.orders.stop + held)
        self.size = self.holdback.stop

    def validate(self, action: object) -> FloatArray:
        """The action as a flat float array clipped to [-1, 1], or ValueError naming what is wrong."""
        return validate_flat(action, self.size)

    def validate_batch(self, actions: object, copies: int) -> FloatArray:
        """A (copies, n) batch of actions, clipped, or ValueError naming the copy and entry."""
        return validate_rows(actions, copies, self.size)

    def fractions(self, action: FloatArray) -> Fractions:
        """Continuous fractions from a validated action (n,) or a batch of them (B, n)."""
        net = self.net
        lead = action.shape[:-1]
        weights = (action[..., self.allocation].reshape(*lead, net.n_skus, net.n_locations + 1) + 1.0) * 0.5
        totals = weights.sum(axis=-1, keepdims=True)
        keep = np.zeros_like(weights)
        keep[..., -1] = 1.0
        alloc = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0), keep)
        transfers = np.maximum(action[..., self.transfers].reshape(*lead, net.n_lanes, net.n_skus), 0.0)
        if net.policy_orders:
            orders = (action[..., self.orders] + 1.0) * 0.5
        else:
            orders = np.zeros((*lead, net.n_skus))
        holdback = None
        if self.holdback.stop > self.holdback.start:
            held = action[..., self.holdback].reshape(*lead, net.n_locations, net.n_skus)
            holdback = np.ascontiguousarray((held + 1.0) * 0.5)
        return Fractions(alloc, transfers, orders, holdback)

    def encode(
        self,
        allocation: IntArray,
        dc_available: IntArray,
        transfer_share: FloatArray | None = None,
        order_share: FloatArray | None = None,
        holdback_share: FloatArray | None = None,
    ) -> NDArray[np.float32]:
        """The action that asks for ``allocation`` ([B,] L, S) units; used by rule sets and the action modes.

        Any units not allocated stay at the DC. Decoding the result gives back
        ``allocation`` exactly when it is feasible (the guardrails may still trim it).
        With leading batch axes, each copy's row is what it alone would encode.
        ``holdback_share`` (L, S) in [0, 1]: the holdback block (ignored without one; absent: 0).
        """
        net = self.net
        avail_int = np.asarray(dc_available)
        alloc = np.minimum(np.maximum(allocation, 0), avail_int[..., None, :]).astype(np.float64)
        over = alloc.sum(axis=-2) > avail_int
        if over.any():
            factor = np.where(over, avail_int / np.maximum(alloc.sum(axis=-2), 1), 1.0)
            alloc = np.floor(alloc * factor[..., None, :])
        lead = alloc.shape[:-2]
        avail = np.maximum(avail_int, 1).astype(np.float64)
        shares = np.zeros((*lead, net.n_skus, net.n_locations + 1))
        shares[..., :-1] = np.swapaxes(alloc, -1, -2) / avail[..., :, None]
        shares[..., -1] = np.where(avail_int == 0, 1.0, 1.0 - shares[..., :-1].sum(axis=-1))
        action = np.full((*lead, self.size), -1.0)
        action[..., self.allocation] = (2.0 * shares - 1.0).reshape(*lead, -1)
        if transfer_share is not None and net.n_lanes:
            action[..., self.transfers] = np.clip(transfer_share, 0.0, 1.0).reshape(*lead, -1)
        if order_share is not None and net.policy_orders:
            action[..., self.orders] = 2.0 * np.clip(order_share, 0.0, 1.0) - 1.0
        if holdback_share is not None and self.holdback.stop > self.holdback.start:
            action[..., self.holdback] = (2.0 * np.clip(holdback_share, 0.0, 1.0) - 1.0).reshape(*lead, -1)
        return action.astype(np.float32)
