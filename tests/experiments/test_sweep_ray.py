"""The Ray backend on a real local Ray instance (2 CPUs): the same rows as the local backend, cell by cell."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from allocsim.experiments.sweep import cell_id, expand, gather, run_sweep
from allocsim.experiments.sweep_config import parse_config

pytestmark = pytest.mark.slow  # starts Ray instances: end to end

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'allocsim[ray]')")

ROOT = Path(__file__).resolve().parents[2]
CONFIG: dict[str, Any] = {
    "scenarios": ["tiny-dp", "retail-small"],
    "policies": ["proportional", {"name": "min-max", "params": "tuned"}],
    "seeds": [7, 8, 9],
}


@pytest.fixture
def quiet_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_DISABLE_USAGE_STATS", "1")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")


def test_ray_and_local_give_identical_rows_cell_by_cell(tmp_path: Path, quiet_ray: None) -> None:
    cells = expand(parse_config(CONFIG), tmp_path / "x.yaml")
    local = run_sweep(cells, tmp_path / "local", backend="local", workers=2)
    assert not local.failed and local.ran == len(cells)

    # a Ray the caller started is used as is and left running
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = run_sweep(cells, tmp_path / "ray", backend="ray")
        assert ray.is_initialized()
    finally:
        ray.shutdown()
    assert on_ray.backend == "ray" and not on_ray.failed and on_ray.ran == len(cells)
    for cell in cells:
        cid = cell_id(cell)
        a = json.loads((tmp_path / "local" / "cells" / f"{cid}.json").read_text())["row"]
        b = json.loads((tmp_path / "ray" / "cells" / f"{cid}.json").read_text())["row"]
        assert a == b, cell["scenario"]
    assert gather(cells, tmp_path / "local").equals(gather(cells, tmp_path / "ray"))


def test_ray_backend_starts_a_local_instance_and_shuts_it_down(tmp_path: Path, quiet_ray: None) -> None:
    cells = expand(parse_config({**CONFIG, "scenarios": ["tiny-dp"]}), tmp_path / "x.yaml")
    half = cells[: len(cells) // 2]
    run_sweep(half, tmp_path / "out", backend="local", workers=1)
    assert not ray.is_initialized()
    report = run_sweep(cells, tmp_path / "out", backend="ray", workers=2)  # resumes what local started
    assert not ray.is_initialized()
    assert (report.skipped, report.ran, report.failed) == (len(half), len(cells) - len(half), [])
    assert len(gather(cells, tmp_path / "out")) == len(cells)
    assert os.environ.get("RAY_DISABLE_USAGE_STATS") == "1"
