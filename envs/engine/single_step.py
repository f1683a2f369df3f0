"""The single env's ``shares`` step as one compiled call: check, decode, then the period.

``shares_step`` checks and clips the action (``decode.clip_finite``), decodes it into fractions
(``decode.shares_fractions``) and runs the period on the batch of one (``kernels.run_copies``, the
vector env's very kernel); a NaN or infinite entry returns its index before anything changes, and
the env raises the same ``ValueError`` as ``ActionLayout.validate`` (``actions.not_finite``). It
replaces three Python-to-compiled crossings (each typing its arguments or unboxing the engine's
tuples) and the numpy arrays of the fractions allocated every step. ``OneCallStep`` is what every
mode's one-call step shares (``allocsim.envs.engine.targets_step`` is the ``targets`` and
``residual`` one); the events mode keeps the Python decode (``ActionMode.fractions``) and
``BatchEngine.run_period``.

Compile time decides how: a compiled function taking the engine's tuples from Python has a wrapper
that unboxes their ~120 arrays (about 2 s of a cold compile), and a call of ``run_copies`` that
numba links in optimizes and generates its ~1 MB of code again (about 8 s). So ``run_copies`` is
called through the address of its compiled code, and its arguments are handed over packed: every
array as (data address, shape, strides), every scalar as 64 bits, in one int64 vector built once per
engine (``pack``, ``packed_call``; the tuples are immutable and ``EngineState.restore`` writes in
place) and read back into numba's values by ``_call_packed``, whose types are the ``TypeRef`` of the
arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from llvmlite import ir
from numba import njit, typeof, types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

from allocsim.envs.actions import ActionLayout, FloatArray, flat_action
from allocsim.envs.engine import kernels
from allocsim.envs.engine.decode import clip_finite, shares_fractions
from allocsim.envs.engine.jit import OPTIONS

if TYPE_CHECKING:
    from allocsim.envs.engine.core import BatchEngine

#: Called from Python through its Python wrapper only (no C wrapper).
step_kernel = njit(no_cfunc_wrapper=True, **OPTIONS)


def pack(value: Any, words: list[int], kinds: list[str]) -> None:
    """Append ``value`` (nested tuples of arrays, ints, bools, floats) to ``words``, one word per argument
    of numba's flattened calling convention, and each word's kind (as ``argument_kinds`` names it) to
    ``kinds``: an array as (meminfo 0, parent 0, size, itemsize, data address, shape, strides), a
    scalar as its 64 bits."""
    if isinstance(value, tuple):
        for item in value:
            pack(item, words, kinds)
    elif isinstance(value, np.ndarray):
        words.extend((0, 0, value.size, value.itemsize, value.ctypes.data, *value.shape, *value.strides))
        kinds.extend(("pointer", "pointer", "i64", "i64", "pointer", *["i64"] * (2 * value.ndim)))
    elif isinstance(value, bool | np.bool_):
        words.append(int(value))
        kinds.append("i8")
    elif isinstance(value, int | np.int64):
        words.append(int(value))
        kinds.append("i64")
    elif isinstance(value, float | np.float64):
        words.append(int(np.float64(value).view(np.int64)))
        kinds.append("double")
    else:
        raise TypeError(f"cannot pack a {type(value).__name__}")


@intrinsic
def _call_packed(typingctx, address, packed, args_type):  # type: ignore[no-untyped-def]
    """Call the numba-compiled function at ``address`` (its native entry, compiled for exactly the types
    of ``args_type``, a ``TypeRef`` of a tuple) with the arguments ``pack`` wrote into ``packed``
    (int64, C order); True unless it raised."""
    argtys = tuple(args_type.instance_type.types)

    def codegen(context, builder, signature, llargs):  # type: ignore[no-untyped-def]
        words = context.make_array(signature.args[1])(context, builder, llargs[1]).data
        fnty = context.call_conv.get_function_type(types.none, argtys)
        result, excinfo, *params = fnty.args
        values = []
        for i, llty in enumerate(params):
            word = builder.load(builder.gep(words, [ir.Constant(ir.IntType(64), i)]))
            if isinstance(llty, ir.PointerType):
                word = builder.inttoptr(word, llty)
            elif isinstance(llty, ir.DoubleType):
                word = builder.bitcast(word, llty)
            elif llty.width < 64:  # a bool (i8 as an argument), packed as 0 or 1
                word = builder.trunc(word, llty)
            values.append(word)
        out = cgutils.alloca_once(builder, result.pointee)
        builder.store(cgutils.get_null_value(result.pointee), out)
        code = builder.call(builder.inttoptr(llargs[0], fnty.as_pointer()),
                            [out, cgutils.alloca_once(builder, excinfo.pointee), *values])
        # numba's return codes: 0 a value, -2 None (run_copies' return), anything else an exception
        ok = builder.icmp_signed("==", code, ir.Constant(code.type, 0))
        return builder.or_(ok, builder.icmp_signed("==", code, ir.Constant(code.type, -2)))

    return types.boolean(address, packed, args_type), codegen


def argument_kinds(key: tuple[types.Type, ...]) -> list[str]:
    """The kinds ('pointer', 'double' or the integer's width) of numba's flattened arguments for ``key``."""
    from numba.core.registry import cpu_target

    kinds = []
    for llty in cpu_target.target_context.get_arg_packer(key).argument_types:
        kinds.append("pointer" if isinstance(llty, ir.PointerType) else
                     "double" if isinstance(llty, ir.DoubleType) else str(llty))
    return kinds


def packed_call(run: Any, args: tuple[Any, ...]) -> tuple[int, NDArray[np.int64], types.Tuple]:
    """What ``_call_packed`` needs to call the dispatcher ``run`` on ``args`` from compiled code: the
    address of its compiled code for ``args``' types (compiled or loaded from the cache here), ``args``
    packed, and the tuple of their types (passed on as a ``TypeRef``)."""
    key = tuple(typeof(a) for a in args)
    if key not in run.overloads:
        run.compile(key)
    result = run.overloads[key]
    words: list[int] = []
    kinds: list[str] = []
    pack(args, words, kinds)
    if kinds != argument_kinds(key):  # the packing must follow numba's calling convention exactly
        raise RuntimeError(f"{run.__name__}'s arguments do not pack as numba passes them")
    address = result.library.get_pointer_to_function(result.fndesc.llvm_func_name)
    return address, np.array(words, dtype=np.int64), types.Tuple(key)


@step_kernel
def shares_step(action, clipped, transfers_at: int, orders_at: int, holdback_at: int, weights, alloc,  # type: ignore[no-untyped-def]
                transfers, orders, holdback, period: int, packed, args_type) -> int:
    """One ``shares`` action (n,) float64 for the batch of one: clipped into ``clipped`` (1, n), decoded
    into ``alloc``, ``transfers``, ``orders``, ``holdback`` (``shares_fractions``' arrays, block starts
    and scratch ``weights``), then ``run_copies`` at address ``period`` on its arguments ``packed``
    (which hold the same fraction arrays). Returns the index of the first NaN or infinite entry
    (nothing run), -1 when the period ran, -2 if it raised."""
    bad = clip_finite(action, clipped[0])
    if bad >= 0:
        return bad
    shares_fractions(clipped, transfers_at, orders_at, holdback_at, alloc, transfers, orders, holdback,
                     weights)
    return -1 if _call_packed(period, packed, args_type) else -2


class OneCallStep:
    """``engine``'s period (a batch of one) from a raw action of ``size`` entries, in one call of the
    compiled ``kernel`` on (the action (n,) float64, ``_buffers``, what ``_pack`` returns)."""

    kernel: ClassVar[Any]

    def __init__(self, engine: BatchEngine, size: int) -> None:
        if engine.batch != 1:
            raise ValueError(f"{type(self).__name__} steps a batch of one, not {engine.batch}")
        self.engine, self.size = engine, size
        self._action = np.empty(size)
        self._buffers: tuple[Any, ...] = ()  # the kernel's arguments after the action (set by subclasses)
        self._entry: Callable[..., int] | None = None
        self._packed_for: tuple[Any, ...] = ()  # the engine's tuples ``_tail`` was packed from
        self._tail: tuple[Any, ...] = ()  # the kernel's last arguments: ``_pack``'s addresses and words

    def action(self, action: object) -> FloatArray:
        """``action`` as a flat float array (not yet clipped), or ValueError naming a wrong shape."""
        return flat_action(action, self.size)

    def __call__(self, action: FloatArray) -> int:
        """Run the period of ``action`` (from ``action()``) as ``BatchEngine.run_period`` of its fractions;
        returns -1, or the index of its first NaN or infinite entry, in which case nothing ran
        (``actions.not_finite`` is the error to raise)."""
        self._action[:] = action
        e = self.engine
        for mine, now in zip(self._packed_for, (e.params, e.state, e.work, e.obs), strict=False):
            if mine is not now:
                self._entry = None
        if self._entry is None:
            self._tail = self._pack()
            self._packed_for = (e.params, e.state, e.work, e.obs)
            args = (self._action, *self._buffers, *self._tail)
            kernel = type(self).kernel  # from the class: a dispatcher read from an instance binds as a method
            kernel.compile(tuple(typeof(a) for a in args))
            self._entry = kernels.compiled_entry(kernel, args)
        status: int = self._entry(self._action, *self._buffers, *self._tail)
        if status == -2:
            raise RuntimeError("the compiled period raised")
        if status == -1:  # the period ran: the opt-in block the kernel leaves out (allocsim.envs.observation)
            e.observation.write_known_orders(e.state, e.obs, e._all)
        return status

    def _pack(self) -> tuple[Any, ...]:
        """The kernel's last arguments for the engine's tuples now (addresses and packed words)."""
        raise NotImplementedError

    def _period(self, phases: int, fractions: tuple[Any, ...]) -> tuple[int, NDArray[np.int64], types.Tuple]:
        """``packed_call`` of ``run_copies`` for the batch of one: ``phases`` with ``fractions`` (alloc,
        transfers, orders, holdback), as ``BatchEngine._run`` calls it."""
        e = self.engine
        args = (e.params, e.state, e.work, phases, e._all, *fractions, e.obs, 0, 1)
        return packed_call(kernels.run_copies, args)

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles leave the compiled entry and the packed addresses behind (made again)."""
        return {**self.__dict__, "_entry": None, "_packed_for": (), "_tail": ()}


class SharesStep(OneCallStep):
    """``engine``'s period (a batch of one) from a raw ``shares`` action, in one compiled call."""

    kernel = shares_step

    def __init__(self, engine: BatchEngine, layout: ActionLayout) -> None:
        super().__init__(engine, layout.size)
        alloc_shape, transfers_shape, orders_shape, holdback_shape = layout.block_shapes
        decoded = np.zeros((1, *holdback_shape))
        self._fractions = (np.empty((1, *alloc_shape)), np.empty((1, *transfers_shape)),
                           np.zeros((1, *orders_shape)), decoded)
        self._buffers = (np.empty((1, self.size)), layout.transfers.start, layout.orders.start,
                         layout.holdback.start, np.empty(alloc_shape[1]), *self._fractions)
        # the holdback run_copies reads: the decoded one where the scenario decides one, else zeros
        self._holdback = decoded if holdback_shape[0] else np.zeros((1, *engine.state.inbound.shape[1:]))

    def _pack(self) -> tuple[Any, ...]:
        """``run_copies``' address, its packed arguments (the period on the fractions) and their types."""
        return self._period(kernels.STEP, (*self._fractions[:3], self._holdback))
