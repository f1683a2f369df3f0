"""The numba options every engine kernel compiles with, in one place.

- ``cache=True``: compiled once per engine source (see ``allocsim.envs.engine``), not per run.
- ``error_model="numpy"``: a division by zero gives inf/nan as numpy does, with no
  exception checks in the inner loops.
- ``_nrt=False``: no numba runtime, hence no reference counting of array views in the
  inner loops (about 1.5x faster on retail-medium), and a kernel that allocates does not
  compile at all: "no allocation per step" is checked by the compiler.
"""

from __future__ import annotations

from typing import Any

from numba import njit

OPTIONS: dict[str, Any] = {"cache": True, "error_model": "numpy", "_nrt": False}

#: A compiled engine function, called as a function.
kernel = njit(**OPTIONS)
#: A compiled per-copy step, inlined into its one caller (the period runs as one function).
inline_kernel = njit(inline="always", **OPTIONS)
#: The period entry point with the copies spread over numba's threads.
parallel_kernel = njit(parallel=True, **OPTIONS)
