"""Loading a scenario for a command (`_load`) does not import the report's plotting stack.

matplotlib and SciPy's statistics cost 2-3 s of silent start-up under load; `train`, `state` and
`infer --scenario` load a scenario first and never plot.
"""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from allocsim.experiments.cli import _load
_load("tiny-dp")
print(sorted(m for m in ("matplotlib", "scipy.stats", "allocsim.experiments.benchmark") if m in sys.modules))
"""


def test_loading_a_preset_leaves_the_plotting_stack_alone() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout
