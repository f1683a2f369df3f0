"""The single env's ``targets`` and ``residual`` step as one compiled call: check, decode, then the period.

``targets_step`` checks and clips the action (``decode.clip_finite``), decodes it into its order-up-to
parameters (``targets.target_parameters``, the kernel ``TargetsMode.parameters`` runs for the vector
env), takes the guardrails' room (``kernels.run_copies`` on its ROOMS phase, as ``BatchEngine.rooms``),
decodes the units into fractions (``targets.targets_fractions``, the vector env's batch decode) and runs
the period (``run_copies`` on STEP): the three Python-to-compiled crossings of ``TargetsMode.fractions``
and ``BatchEngine.run_period`` in one, with the same arithmetic on the same arrays, so the state,
rewards and decision log are those of that path to the bit. A NaN or infinite entry returns its index
before anything runs (``AllocationEnv`` raises ``actions.not_finite``, as ``ActionLayout.validate``).

``run_copies`` and ``targets_fractions`` are called through the address of their compiled code on
arguments packed once per engine (``single_step.packed_call``), not linked in: linking would optimize
and generate their code again at the first step (``run_copies`` alone ~1 MB, ~8 s), where the
address costs nothing beyond the kernels the vector env compiles anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from allocsim.envs.engine import kernels
from allocsim.envs.engine.decode import clip_finite
from allocsim.envs.engine.jit import inner_kernel
from allocsim.envs.engine.single_step import OneCallStep, _call_packed, packed_call, step_kernel
from allocsim.envs.engine.targets import decode_arguments, target_parameters, targets_fractions

if TYPE_CHECKING:
    from allocsim.envs.action_modes import TargetsMode
    from allocsim.envs.engine.core import BatchEngine


@inner_kernel
def call_packed(address: int, packed, args_type) -> bool:  # type: ignore[no-untyped-def]
    """``_call_packed`` as a function of its own: called twice for ``run_copies``, its unpacking of
    ~1,000 words is generated once."""
    return _call_packed(address, packed, args_type)


@step_kernel
def targets_step(action, clipped, centre, half, low, high, values, room_headroom, headroom,  # type: ignore[no-untyped-def]
                 period: int, rooms_packed, packed, period_type, decode: int, decode_packed,
                 decode_type) -> int:
    """One ``targets`` action (n,) float64 for the batch of one: clipped into ``clipped`` (1, n), its
    parameters into ``values`` (1, n) by the ranges ``centre``, ``half``, ``low``, ``high`` (n,); then
    ``run_copies`` at address ``period`` on ``rooms_packed`` (the ROOMS phase: the room into the work
    arrays, ``room_headroom`` (1, L) among them), the headroom clipped at 0 into ``headroom`` (1, L) as
    ``BatchEngine.rooms`` clips it, ``targets_fractions`` at address ``decode`` on ``decode_packed``
    (reading ``values`` and ``headroom``, writing the fractions) and ``run_copies`` on ``packed`` (the
    period on those fractions). Returns the index of the first NaN or infinite entry (nothing run), -1
    when the period ran, -2 if a kernel raised."""
    bad = clip_finite(action, clipped[0])
    if bad >= 0:
        return bad
    target_parameters(clipped, centre, half, low, high, values)
    if not call_packed(period, rooms_packed, period_type):
        return -2
    for loc in range(headroom.shape[1]):
        headroom[0, loc] = max(room_headroom[0, loc], 0)
    if not _call_packed(decode, decode_packed, decode_type):
        return -2
    return -1 if call_packed(period, packed, period_type) else -2


class TargetsStep(OneCallStep):
    """``engine``'s period (a batch of one) from a raw ``targets`` or ``residual`` action of ``mode``, in
    one compiled call (``TargetsMode.fractions`` then ``BatchEngine.run_period``, bit for bit)."""

    kernel = targets_step

    def __init__(self, engine: BatchEngine, mode: TargetsMode) -> None:
        super().__init__(engine, mode.size)
        net = engine.net
        n_l, n_s, n_k = net.n_locations, net.n_skus, net.n_lanes
        ranges = mode.ranges()
        self._values = values = np.empty((1, self.size))  # the parameters (``_blocks`` cuts it)
        self._no_order_cover = np.zeros((1, n_s))
        # the fractions run_copies reads: no transfers, no holdback (as ``TargetsMode._with_blocks``)
        self._fractions = (np.empty((1, n_s, n_l + 1)), np.zeros((1, n_k, n_s)), np.empty((1, n_s)),
                           np.zeros((1, n_l, n_s)))
        self._headroom = np.empty((1, n_l), dtype=np.int64)
        self._lead = mode.order_lead
        self._buffers = (np.empty((1, self.size)), *(np.ascontiguousarray(r, dtype=np.float64) for r in
                         (ranges.centre, ranges.half, ranges.low, ranges.high)), values,
                         engine.work.headroom, self._headroom)
        self._decode: tuple[Any, ...] = ()  # targets_fractions' arguments (their addresses are packed)

    def _pack(self) -> tuple[Any, ...]:
        """``run_copies``' address, its ROOMS and STEP arguments packed and their types, then
        ``targets_fractions``' address, arguments and types."""
        e = self.engine
        if self._buffers[-2] is not e.work.headroom:  # new work arrays (a restored engine)
            self._buffers = (*self._buffers[:-2], e.work.headroom, self._headroom)
        address, rooms, _ = self._period(kernels.ROOMS, self._fractions)
        period = self._period(kernels.STEP, self._fractions)
        assert period[0] == address
        share, orders = self._fractions[0], self._fractions[2]
        self._decode = decode_arguments(e, self._blocks(), self._headroom, e.work.supply_room, self._lead,
                                        share, orders)
        return (address, rooms, *period[1:], *packed_call(targets_fractions, self._decode))

    def _blocks(self) -> tuple[Any, ...]:
        """The parameter blocks as ``TargetRanges.parameters`` cuts them: views of ``_values`` (1, n),
        made anew for each packing (a copied view would no longer share its memory)."""
        net, values = self.engine.net, self._values
        n_l, n_s = net.n_locations, net.n_skus
        cells = n_l * n_s
        return (values[:, :cells].reshape(1, n_l, n_s), values[:, cells : cells + n_s],
                values[:, cells + n_s : cells + 2 * n_s],
                values[:, cells + 2 * n_s :] if net.policy_orders else self._no_order_cover)

    def __getstate__(self) -> dict[str, Any]:
        """As ``OneCallStep``'s, and the decode's packed arguments are made again too."""
        return {**super().__getstate__(), "_decode": ()}
