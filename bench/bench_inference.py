"""What one decision costs through the torch-free runtime (``OnnxPolicy``), on one core.

Exports a policy (the shipped retail-small policy when present, else a freshly
initialised PPO network of the default size for ``--scenario``), then times:

* ``predict`` on one observation: p50 and p99 over ``--calls`` calls (targets 100 / 300 us);
* ``decide`` on one JSON state (validation, observation, graph, whole units): p50 and p99;
* ``predict`` on batches of 1024: decisions per second, median of ``--repeat`` (target 200,000/s).

Usage: ``python bench/bench_inference.py [--scenario S] [--calls N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from harness import write_results  # beside this file (on sys.path)

os.environ.setdefault("OMP_NUM_THREADS", "1")

P50_TARGET_US, P99_TARGET_US, BATCH_TARGET = 100.0, 300.0, 200_000


def fresh_policy(scenario: str, out: Path) -> Path:
    """A PPO network of the packaged size, untrained, exported with unit normalisation."""
    from stable_baselines3 import PPO

    from allocsim.agents.export import export_policy
    from allocsim.agents.hyperparams import load_hyperparams
    from allocsim.agents.policy import LearnedPolicy
    from allocsim.envs.allocation_env import AllocationEnv

    env = AllocationEnv(scenario)
    hp = load_hyperparams("ppo", env.scenario.name)
    model = PPO("MlpPolicy", env, policy_kwargs=hp.policy_kwargs.to_sb3(), device="cpu", seed=0)
    return export_policy(LearnedPolicy(model), "ppo", env, out, run_id="bench-untrained")


def percentiles(samples: list[float]) -> dict[str, float]:
    arr = np.array(samples) * 1e6
    return {"p50_us": float(np.percentile(arr, 50)), "p99_us": float(np.percentile(arr, 99))}


def timed_calls(call: Any, arg: Any, n: int) -> list[float]:
    for _ in range(50):
        call(arg)
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call(arg)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="retail-small")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from allocsim.agents.inference import OnnxPolicy
    from allocsim.agents.pretrained import pretrained_path
    from allocsim.envs.allocation_env import AllocationEnv
    from allocsim.experiments.planning_state import state_after

    with tempfile.TemporaryDirectory() as tmp:
        shipped = pretrained_path(args.scenario)
        path = shipped or fresh_policy(args.scenario, Path(tmp) / "policy.onnx")
        policy = OnnxPolicy.load(path, threads=1)
        env = AllocationEnv(args.scenario)
        obs, _ = env.reset(seed=40000)
        state = state_after(env, 40000, 10)
        single = percentiles(timed_calls(policy.predict, obs, args.calls))
        decide = percentiles(timed_calls(policy.decide, state, args.calls // 4))
        batch = np.repeat(obs[None, :], 1024, axis=0)
        policy.predict(batch)
        rates = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            policy.predict(batch)
            rates.append(1024 / (time.perf_counter() - started))
        result = {
            "scenario": args.scenario,
            "model": str(path.name) if shipped else "untrained PPO of the packaged size",
            "observation_size": policy.card.observation_size,
            "action_size": policy.card.action_size,
            "predict": single,
            "decide": decide,
            "batch_1024_decisions_per_s": float(np.median(rates)),
        }
    print(f"OnnxPolicy on {args.scenario} ({result['model']}; obs {result['observation_size']}, "
          f"action {result['action_size']}), one thread:")
    print(f"  predict, 1 observation : p50 {single['p50_us']:.1f} us, p99 {single['p99_us']:.1f} us")
    print(f"  decide, 1 JSON state   : p50 {decide['p50_us']:.1f} us, p99 {decide['p99_us']:.1f} us")
    print(f"  predict, batch 1024    : {result['batch_1024_decisions_per_s']:,.0f} decisions/s (median)")
    verdicts = [
        ("p50 <= 100 us", single["p50_us"] <= P50_TARGET_US),
        ("p99 <= 300 us", single["p99_us"] <= P99_TARGET_US),
        ("batch >= 200,000 decisions/s", result["batch_1024_decisions_per_s"] >= BATCH_TARGET),
    ]
    for name, ok in verdicts:
        print(f"  {'PASS' if ok else 'MISS'} {name}")
    write_results("bench_inference", result, args.json,
                  f"python bench/bench_inference.py --scenario {args.scenario} --calls {args.calls}")


if __name__ == "__main__":
    main()
