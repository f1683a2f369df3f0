"""The built package: every data file the code reads is in the wheel, and the build says no warning.

The data files are the non-Python files tracked under the package folders; the wheel is built from
a copy of the tracked files (so the working tree gets no build folder), as `pip install .` builds it.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("core", "envs", "agents", "baselines", "experiments")
#: Tracked files under the package folders that are not package data: read from a clone by path.
CLONE_ONLY = ("experiments/configs/*",)


def _tracked() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "--", *PACKAGE_FOLDERS, "pyproject.toml", "README.md",
                          "__init__.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if (ROOT / line).is_file()]


def data_files() -> list[str]:
    """Tracked non-Python files under the package folders, less the clone-only configs."""
    return sorted(f for f in _tracked() if f.split("/")[0] in PACKAGE_FOLDERS and not f.endswith(".py")
                  and not any(fnmatch.fnmatch(f, pattern) for pattern in CLONE_ONLY))


def _folder(package: str) -> str:
    """The source folder of a package: ``allocsim.envs.presets`` -> ``envs/presets`` (package-dir maps
    ``allocsim.<x>`` to ``<x>``)."""
    return package.removeprefix("allocsim.").replace(".", "/")


def test_package_data_globs_cover_every_data_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(config["package-dir"][p] == _folder(p) for p in config["package-dir"] if p != "allocsim")
    globs = {_folder(package): patterns for package, patterns in config["package-data"].items()}
    uncovered = [path for path in data_files()
                 if not any(path.startswith(folder + "/") and fnmatch.fnmatch(path[len(folder) + 1:], pattern)
                            for folder, patterns in globs.items() for pattern in patterns)]
    assert not uncovered, f"not in [tool.setuptools.package-data]: {uncovered}"


def test_the_wheel_builds_without_warnings_and_holds_every_data_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    for path in _tracked():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, source / path)
    out = tmp_path / "wheel"
    out.mkdir()
    code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"
    built = subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=source, capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    log = built.stdout + built.stderr
    for warning in ("Package would be ignored", "BuildBackendWarning", "SetuptoolsDeprecationWarning",
                    "as data is deprecated"):
        assert warning not in log, log[log.find(warning) - 300: log.find(warning) + 300]
    wheel = out / built.stdout.strip().splitlines()[-1]
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in data_files() if f"allocsim/{f}" not in names]
    assert not missing, f"data files missing from the wheel: {missing}"
    assert "allocsim/agents/pretrained/retail-small.onnx" in names  # the shipped policy, by name
