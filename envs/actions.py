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
largest remainder (``allocsim.core.unit_decode.largest_remainder_row``), so the units
handed out always sum to the stock split, and applies the guardrails.

Whole units end to end: a decision already in units (a rule's, or a ``targets`` /
``residual`` action's) becomes float64 fractions ``units / available`` (``unit_fractions``)
that the largest-remainder split turns back into exactly those units: every product
``available x fraction`` is within 1e-3 of its integer up to ``MAX_NETWORK_UNITS`` (1e12) units
per SKU, so the floors that fall short are exactly the ones topped up. Rule sets hand that
over as a float64 ``shares`` action (``encode``), whose decode is the same fractions; a
float32 action (what a learned policy outputs) is exact only to ~1e7 units per SKU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from allocsim.core.order_up_to import OrderUpTo
from allocsim.envs.engine.decode import clip_finite, shares_fractions
from allocsim.envs.engine.targets import COMPILED
from allocsim.envs.network import Network

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def not_finite(arr: FloatArray, bad: int, where: str = "action entry {}") -> ValueError:
    """The error for ``arr``'s NaN or infinite entry ``bad`` (flat index); ``where`` names it by its index."""
    at = np.unravel_index(bad, arr.shape)
    return ValueError(f"{where.format(*(int(i) for i in at))} is {float(arr[at])}; actions must be finite")


def _finite_clipped(arr: FloatArray, where: str) -> FloatArray:
    """``arr`` clipped to [-1, 1] (a new float64 array, one compiled pass); ValueError naming the first
    NaN or inf entry."""
    clipped = np.empty(arr.shape)
    bad = clip_finite(arr.reshape(-1), clipped.reshape(-1))
    if bad >= 0:
        raise not_finite(arr, bad, where)
    return clipped


def _float_array(action: object) -> FloatArray:
    """``action`` as an array of floats: float32 and float64 arrays as they are (C order), anything
    else converted to float64 (a ValueError or TypeError from numpy for what is not numbers)."""
    if isinstance(action, np.ndarray) and action.dtype in (np.float32, np.float64):
        return np.ascontiguousarray(action)
    return np.asarray(action, dtype=np.float64)


def flat_action(action: object, size: int) -> FloatArray:
    """``action`` as a flat float array of ``size`` entries, not yet checked nor clipped (ValueError
    naming a wrong shape)."""
    arr = _float_array(action)
    if arr.shape != (size,):
        raise ValueError(f"action has shape {arr.shape}, expected ({size},)")
    return arr


def validate_flat(action: object, size: int) -> FloatArray:
    """An action as a flat float array clipped to [-1, 1], or ValueError naming what is wrong."""
    return _finite_clipped(flat_action(action, size), "action entry {}")


def validate_rows(actions: object, copies: int, size: int) -> FloatArray:
    """A (copies, size) batch of actions, clipped, or ValueError naming the copy and entry."""
    arr = _float_array(actions)
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
        self._weights = np.empty(n_l + 1)  # the compiled decode's scratch row
        #: the blocks' shapes after the batch axis (the holdback block has 0 rows when not decided)
        self.block_shapes = ((s, n_l + 1), (k, s), (s,), (n_l if held else 0, s))

    def validate(self, action: object) -> FloatArray:
        """The action as a flat float array clipped to [-1, 1], or ValueError naming what is wrong."""
        return validate_flat(action, self.size)

    def validate_batch(self, actions: object, copies: int) -> FloatArray:
        """A (copies, n) batch of actions, clipped, or ValueError naming the copy and entry."""
        return validate_rows(actions, copies, self.size)

    def fractions(self, action: FloatArray) -> Fractions:
        """Continuous fractions from a validated action (n,) or a batch of them (B, n): one compiled
        call (``allocsim.envs.engine.decode.shares_fractions``, numpy's arithmetic bit for bit)."""
        lead = action.shape[:-1]
        rows = np.ascontiguousarray(action.reshape(-1, self.size), dtype=np.float64)
        batch = rows.shape[0]
        alloc_shape, transfers_shape, orders_shape, holdback_shape = self.block_shapes
        alloc = np.empty((batch, *alloc_shape))
        transfers = np.empty((batch, *transfers_shape))
        orders = np.zeros((batch, *orders_shape))
        holdback = np.empty((batch, *holdback_shape))
        shares_fractions(rows, self.transfers.start, self.orders.start, self.holdback.start, alloc, transfers,
                         orders, holdback, self._weights)
        held = holdback_shape[0] > 0
        if len(lead) != 1:  # one action (n,), not a batch (B, n): no batch axis on the fractions
            alloc, transfers, orders = (a.reshape(*lead, *a.shape[1:]) for a in (alloc, transfers, orders))
            holdback = holdback.reshape(*lead, *holdback.shape[1:])
        return Fractions(alloc, transfers, orders, holdback if held else None)

    def unit_fractions(
        self,
        allocation: IntArray,
        dc_available: IntArray,
        transfer_share: FloatArray | None = None,
        order_share: FloatArray | None = None,
        holdback_share: FloatArray | None = None,
        arithmetic: OrderUpTo = COMPILED,
    ) -> Fractions:
        """The fractions that decode to exactly ``allocation`` ([B,] L, S) units (float64, no action between).

        ``allocation`` is first cut to ``dc_available`` ([B,] S) (by the rules' own rationing,
        largest remainder) where it asks for more; units not allocated stay at the DC
        (``OrderUpTo.unit_shares`` of ``arithmetic``: compiled, or the plain loops of a reference). The
        compiled decode then gives back these units exactly (see the module docstring); the
        guardrails may still trim them. ``transfer_share`` ([B,] K, S), ``order_share`` ([B,] S)
        and ``holdback_share`` ([B,] L, S) in [0, 1] are the other blocks (absent: 0).
        """
        net = self.net
        share = arithmetic.unit_shares(allocation, dc_available)
        lead = share.shape[:-2]
        zeros = np.zeros
        transfers = (zeros((*lead, net.n_lanes, net.n_skus)) if transfer_share is None or not net.n_lanes
                     else np.clip(np.asarray(transfer_share, dtype=np.float64), 0.0, 1.0))
        orders = (zeros((*lead, net.n_skus)) if order_share is None or not net.policy_orders
                  else np.clip(np.asarray(order_share, dtype=np.float64), 0.0, 1.0))
        holdback = None
        if self.holdback.stop > self.holdback.start:
            holdback = (zeros((*lead, net.n_locations, net.n_skus)) if holdback_share is None
                        else np.clip(np.asarray(holdback_share, dtype=np.float64), 0.0, 1.0))
            holdback = np.ascontiguousarray(np.broadcast_to(holdback, (*lead, net.n_locations, net.n_skus)))
        return Fractions(share, transfers, orders, holdback)

    def encode(
        self,
        allocation: IntArray,
        dc_available: IntArray,
        transfer_share: FloatArray | None = None,
        order_share: FloatArray | None = None,
        holdback_share: FloatArray | None = None,
    ) -> FloatArray:
        """The float64 ``shares`` action ([B,] n) whose decode (``fractions``) is ``unit_fractions`` of
        the same arguments, so the env moves exactly ``allocation`` ([B,] L, S) units when it is
        feasible (the guardrails may still trim it). Used by rule sets and the action modes.
        """
        frac = self.unit_fractions(allocation, dc_available, transfer_share, order_share, holdback_share)
        lead = frac.allocation.shape[:-2]
        action = np.full((*lead, self.size), -1.0)
        action[..., self.allocation] = (2.0 * frac.allocation - 1.0).reshape(*lead, -1)
        if self.transfers.stop > self.transfers.start:
            action[..., self.transfers] = frac.transfers.reshape(*lead, -1)
        if self.orders.stop > self.orders.start:
            action[..., self.orders] = 2.0 * frac.orders - 1.0
        if frac.holdback is not None:
            action[..., self.holdback] = (2.0 * frac.holdback - 1.0).reshape(*lead, -1)
        return action
