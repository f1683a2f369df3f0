"""The batched engine: the world's state as one value and its period as compiled kernels.

numba's on-disk cache is checked against the file of each compiled function only, so a
change in a kernel another file calls would leave a stale caller cached. The cache
therefore lives in a folder named after a digest of every engine source file and of the
shared arithmetic it compiles (``SHARED_SOURCES``: ``allocsim.core.unit_decode`` and the like) (under
``$NUMBA_CACHE_DIR`` if set, else ``~/.cache/allocsim/numba``), set here before any
kernel module is imported; it never lives in the source tree.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

#: Files outside this folder whose functions the kernels compile (the shared arithmetic).
SHARED_SOURCES = ("core/unit_decode.py", "core/observation_blocks.py", "core/same_day.py",
                  "core/order_up_to_loops.py", "envs/demand_stream.py")


def _source_digest() -> str:
    digest = hashlib.sha256()
    package_root = Path(__file__).parents[2]
    shared = [package_root / name for name in SHARED_SOURCES]
    for path in [*sorted(Path(__file__).parent.glob("*.py")), *shared]:
        digest.update(path.name.encode())  # content decides; the name tells files apart
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    """Where the compiled kernels of this exact engine source are cached."""
    base = os.environ.get("NUMBA_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    ) / "allocsim" / "numba"
    return Path(base) / _source_digest()


numba.config.CACHE_DIR = str(cache_dir())
