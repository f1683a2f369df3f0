"""The numba options every engine kernel compiles with, in one place.

- ``cache=True``: compiled once per engine source (see ``allocsim.envs.engine``), not per run.
- ``error_model="numpy"``: a division by zero gives inf/nan as numpy does, with no
  exception checks in the inner loops.
- ``_nrt=False``: no numba runtime, hence no reference counting of array views in the
  inner loops (about 1.5x faster on retail-medium), and a kernel that allocates does not
  compile at all: "no allocation per step" is checked by the compiler.

Compile time: an ``inline_kernel`` reads the parameter, state and work tuples only in its first
block (before any branch or loop) and passes arrays, not the tuples, to the inline kernels it calls.
numba keeps a value used within one block in a register; a tuple used across blocks gets a stack
slot, every read of a field loads the whole tuple (about a hundred arrays), and LLVM's SROA pass
then splits each of those loads: that was 47 of 52 s of compiling ``run_copies``. Calls of a
non-inlined ``kernel`` may take the tuples (they do not split the block).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from numba import njit

OPTIONS: dict[str, Any] = {"cache": True, "error_model": "numpy", "_nrt": False}

#: A compiled engine function, called as a function.
kernel = njit(**OPTIONS)
#: A compiled per-copy step, inlined into its one caller (the period runs as one function).
inline_kernel = njit(inline="always", **OPTIONS)
#: A kernel only other kernels call: no wrapper to call it from Python is compiled (for a kernel
#: over the parameter and state tuples that wrapper, which unboxes about a hundred arrays, costs
#: as much compile time as the kernel itself).
inner_kernel = njit(no_cpython_wrapper=True, no_cfunc_wrapper=True, **OPTIONS)


def compile_shared(function: Callable[..., Any], jit: Callable[[Callable[..., Any]], Any] = kernel,
                   **compiled: Any) -> Any:
    """A plain-Python function of ``allocsim.core`` compiled by ``jit`` (a ``kernel`` unless told: an
    ``inner_kernel``, an ``inline_kernel``), with the other plain functions it calls (named in
    ``compiled``) bound to their kernels.

    The shared arithmetic imports numpy only (the torch-free runtime calls it as it is), so a
    function there that calls another cannot be compiled directly: numba does not compile a
    plain function it meets as a global. The compiled copy reads its globals from a new dict in
    which those names are the kernels; the module and the runtime keep the plain functions.
    """
    scope = {**function.__globals__, **compiled}
    copy = types.FunctionType(function.__code__, scope, function.__name__, function.__defaults__,
                              function.__closure__)
    copy.__qualname__, copy.__module__ = function.__qualname__, function.__module__
    copy.__doc__ = function.__doc__
    return jit(copy)
