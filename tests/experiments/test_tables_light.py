"""The console tables load no pandas, SciPy or numba: `simulate` and `evaluate` import them for a
ten-row table, and they cost 3-7 s at load 7 (`simulate --episodes 10` printed nothing for 5.6 s,
2.8 s after)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_tables_loads_no_heavy_module() -> None:
    code = ("import sys; import allocsim.experiments.tables; "
            "print(','.join(m for m in ('pandas', 'scipy', 'numba', 'torch') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            check=True)
    assert loaded.stdout.strip() == "", loaded.stdout
