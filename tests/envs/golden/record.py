"""Record golden results of the current simulator: one JSON file per preset in this folder.

Run ``.venv/bin/python tests/envs/golden/record.py [preset ...]`` (all presets by default).
Every rule set (plus ``dp`` on ``tiny-dp``) plays one episode per seed in ``SEEDS`` at its
default parameters, through the same loop as ``allocsim.experiments.evaluation`` (a fresh
policy seeded with the episode seed); the full KPI dict of each episode is stored. Also a
step trace of the ``random`` policy on ``TRACE_SEEDS``: every reward, and the observations
returned by ``reset`` and the first ``TRACE_OBS_STEPS`` steps (exact float32 values).

File layout: ``{"preset", "scenario_hash", "demand_stream", "seeds", "results": {policy: [kpis per seed]},
"trace_seeds", "traces": {"random": {seed: {"rewards": [...], "observations": [[...]]}}}}``.
Floats are written with ``repr`` (exact float64 round trip); NaN KPIs are written as ``null``.
Re-recording overwrites the golden truth: do it only deliberately, never to make a test pass.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from allocsim.baselines.registry import make_policy, rule_names
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.envs.scenario import preset_names
from allocsim.experiments.evaluation import run_episode

GOLDEN_DIR = Path(__file__).resolve().parent
SEEDS = list(range(40000, 40020))
TRACE_POLICY = "random"
TRACE_SEEDS = SEEDS[:2]
TRACE_OBS_STEPS = 10
EXACT_ONLY = {"tiny-dp": ["dp"]}  # exact optima recorded where they can solve the scenario


def policies_for(preset: str) -> list[str]:
    """The policies recorded on ``preset``: every rule set, plus the exact optima that solve it."""
    return [*rule_names(), *EXACT_ONLY.get(preset, [])]


def play_episode(env: AllocationEnv, policy: str, seed: int) -> dict[str, Any]:
    """One episode of ``policy`` (default parameters, seeded with ``seed``) on ``seed``; its KPI dict."""
    row = run_episode(env, make_policy(policy, env, seed=seed), seed)
    del row["seed"]
    return row


def play_trace(
    env: AllocationEnv, policy: str, seed: int, obs_steps: int = TRACE_OBS_STEPS
) -> dict[str, Any]:
    """Step trace of one episode: every reward, and the first ``obs_steps + 1`` observations (reset first)."""
    predictor = make_policy(policy, env, seed=seed)
    obs, _ = env.reset(seed=seed)
    observations: list[np.ndarray] = [obs.copy()]
    rewards: list[float] = []
    done = False
    while not done:
        action, _ = predictor.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(float(reward))
        if len(observations) <= obs_steps:
            observations.append(obs.copy())
        done = terminated or truncated
    return {"rewards": rewards, "observations": observations}


def to_json_value(value: Any) -> Any:
    """``value`` with plain Python types only: NaN as None, numpy scalars and arrays converted."""
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_json_value(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else float(value)
    return value


def _dumps(value: Any) -> str:
    """Compact strict JSON (no NaN/inf tokens), floats written with ``repr``."""
    return json.dumps(to_json_value(value), separators=(",", ":"), allow_nan=False)


def render(doc: dict[str, Any]) -> str:
    """The golden document as JSON text: one line per episode or observation, diff-friendly."""
    lines = ["{"]
    for key in ("preset", "scenario_hash", "demand_stream", "seeds", "trace_seeds"):
        lines.append(f"{json.dumps(key)}:{_dumps(doc[key])},")
    lines.append('"results":{')
    for i, (policy, rows) in enumerate(doc["results"].items()):
        lines.append(f"{json.dumps(policy)}:[")
        lines.append(",\n".join(_dumps(row) for row in rows))
        lines.append("]" + ("," if i < len(doc["results"]) - 1 else ""))
    lines.append("},")
    lines.append('"traces":{')
    for i, (policy, traces) in enumerate(doc["traces"].items()):
        lines.append(f"{json.dumps(policy)}:{{")
        for j, (seed, trace) in enumerate(traces.items()):
            lines.append(f'{json.dumps(str(seed))}:{{"rewards":{_dumps(trace["rewards"])},"observations":[')
            lines.append(",\n".join(_dumps(obs) for obs in trace["observations"]))
            lines.append("]}" + ("," if j < len(traces) - 1 else ""))
        lines.append("}" + ("," if i < len(doc["traces"]) - 1 else ""))
    lines.append("}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_preset(preset: str) -> tuple[dict[str, Any], dict[str, float]]:
    """The golden document of ``preset`` and the seconds each policy took on all seeds."""
    env = AllocationEnv(preset)
    results: dict[str, list[dict[str, Any]]] = {}
    timings: dict[str, float] = {}
    for policy in policies_for(preset):
        start = time.perf_counter()
        results[policy] = [play_episode(env, policy, seed) for seed in SEEDS]
        timings[policy] = time.perf_counter() - start
    traces = {TRACE_POLICY: {str(seed): play_trace(env, TRACE_POLICY, seed) for seed in TRACE_SEEDS}}
    doc = {
        "preset": preset,
        "scenario_hash": env.scenario.content_hash(),
        "demand_stream": DEMAND_STREAM,
        "seeds": SEEDS,
        "trace_seeds": TRACE_SEEDS,
        "results": results,
        "traces": traces,
    }
    return doc, timings


def main(argv: list[str]) -> int:
    """Record the presets named in ``argv`` (all by default); print timings and file sizes."""
    presets = argv or preset_names()
    unknown = sorted(set(presets) - set(preset_names()))
    if unknown:
        print(f"unknown presets {unknown}; valid: {preset_names()}", file=sys.stderr)
        return 2
    for preset in presets:
        start = time.perf_counter()
        doc, timings = record_preset(preset)
        path = GOLDEN_DIR / f"{preset}.json"
        write_atomic(path, render(doc))
        slow = {p: round(t, 1) for p, t in timings.items() if t > 60}
        cells = ", ".join(f"{p} {t:.1f}s" for p, t in timings.items())
        size = path.stat().st_size / 1024
        print(f"{preset}: {time.perf_counter() - start:.1f}s wall, {size:.0f} KB [{cells}]")
        if slow:
            print(f"  slow (> 60 s for {len(SEEDS)} seeds): {slow}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
