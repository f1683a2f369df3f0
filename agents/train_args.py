"""The names ``allocsim train`` accepts, torch-free: the CLI refuses a bad ``--algo``, ``--vec`` or
``--hyperparams`` in one line before it spends seconds loading PyTorch.

``allocsim.agents.algorithms.ALGORITHMS`` and ``allocsim.agents.training.VECTORIZATIONS`` hold the
same names in the same order (a test checks it).
"""

from __future__ import annotations

from pathlib import Path

from allocsim.core.error_text import shorten, show

#: The algorithms of ``allocsim.agents.algorithms``, in its order (``ppo`` first: the default).
ALGO_NAMES = ("ppo", "a2c", "sac", "td3", "recurrent-ppo", "dcl")
#: The layouts of ``allocsim.agents.training.VECTORIZATIONS``.
VECTORIZATION_NAMES = ("native", "subproc")
HYPERPARAMS_DIR = Path(__file__).with_name("hyperparams")


def hyperparams_file(algo: str, path: Path | None = None) -> Path:
    """The file to read: ``path``; the packaged ``<path>.yaml`` when ``path`` is a bare name that is no
    file here but a packaged one (``--hyperparams ppo-shared``); no ``path``: the packaged ``<algo>.yaml``."""
    if path is None:
        return HYPERPARAMS_DIR / f"{algo}.yaml"
    packaged = HYPERPARAMS_DIR / f"{Path(path).name}.yaml"
    bare = Path(path).name == str(path) and not Path(path).suffix
    return packaged if bare and not Path(path).exists() and packaged.is_file() else Path(path)


def check_train_args(algo: str, vectorization: str, hyperparams: Path | None) -> None:
    """ValueError naming the option, the bad value and the valid ones, for the first of ``--algo``,
    ``--vec`` and ``--hyperparams`` (a file, or a packaged name) that cannot be right."""
    if algo not in ALGO_NAMES:
        raise ValueError(f"--algo: {show(algo)} is not one of {', '.join(ALGO_NAMES)}")
    if vectorization not in VECTORIZATION_NAMES:
        raise ValueError(f"--vec: {show(vectorization)} is not one of {', '.join(VECTORIZATION_NAMES)}")
    if hyperparams is not None and not hyperparams_file(algo, hyperparams).exists():
        raise ValueError(f"--hyperparams {shorten(str(hyperparams))}: no such file or packaged name")
