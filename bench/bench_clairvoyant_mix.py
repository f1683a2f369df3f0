"""What perfect information buys: the clairvoyant LP's units sold per SKU and channel, and a policy's.

Per seed the clairvoyant LP (``allocsim.baselines.clairvoyant``) is solved and its sales columns (new and
backordered) summed per SKU and channel; the policy (a rule with its tuned parameters, or ``--model`` a
learned policy's file) is played on the same seeds. Where both sell about the same units, the bound's
excess is the channel mix the LP chooses knowing every demand.

Usage: ``python bench/bench_clairvoyant_mix.py --preset contracts-scarce --seeds 40 --model
results/contracts-scarce/policy.onnx``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from harness import write_results  # beside this file (on sys.path)

from allocsim.baselines.clairvoyant import build
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.evaluation import PolicySpec, build_policy, run_episode
from allocsim.experiments.policy_specs import rule_specs


def mix(name: str, seeds: list[int], policy_name: str = "priority", model: str = "") -> dict[str, Any]:
    """Mean units sold per SKU and channel by the clairvoyant LP and by the policy, and both profits."""
    env = AllocationEnv(name)
    net = env.network
    sold, bounds = np.zeros((net.n_skus, net.n_channels)), []
    for seed in seeds:
        plan = build(net, sample_episode(env.profile, net, seed))
        sol = plan.lp.solve()
        bounds.append(sol.objective)
        for cols, _ in plan.sold:  # (T, L, S, C[, K]) column indices, -1 where absent
            values = np.where(cols >= 0, sol.x[np.maximum(cols, 0)], 0.0)
            sold += values.sum(axis=tuple(i for i in range(values.ndim) if i not in (2, 3)))
    spec = (PolicySpec("learned", model=model) if model
            else rule_specs(load_scenario(name), [policy_name])[0][0])
    policy = build_policy(spec, env, 0)
    rows = [run_episode(env, policy, seed) for seed in seeds]
    played = {ch: float(np.mean([r["by_channel"][ch]["units_fulfilled"] for r in rows]))
              for ch in net.channels}
    lp = {ch: {sku: float(sold[s, c] / len(seeds)) for s, sku in enumerate(net.skus)}
          for c, ch in enumerate(net.channels)}
    return {"preset": name, "policy": model or policy_name, "seeds": len(seeds),
            "bound": float(np.mean(bounds)), "profit": float(np.mean([r["profit"] for r in rows])),
            "lp_sold": lp, "policy_sold": played}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="contracts-scarce")
    parser.add_argument("--policy", default="priority", help="a registered rule, with its tuned parameters")
    parser.add_argument("--model", default="", help="a learned policy's file (.onnx), played instead")
    parser.add_argument("--seeds", type=int, default=40, help="test seeds from 40000 (default 40)")
    args = parser.parse_args()
    out = mix(args.preset, list(range(40_000, 40_000 + args.seeds)), args.policy, args.model)
    print(f"{out['preset']}: clairvoyant LP {out['bound']:,.2f}, {out['policy']} {out['profit']:,.2f} "
          f"on {out['seeds']} seeds; units sold per episode")
    for ch, by_sku in out["lp_sold"].items():
        skus = ", ".join(f"{sku} {v:,.1f}" for sku, v in by_sku.items())
        print(f"  {ch:10s} LP {sum(by_sku.values()):8,.1f} ({skus})  policy {out['policy_sold'][ch]:8,.1f}")
    write_results(f"bench_clairvoyant_mix_{args.preset}", out)


if __name__ == "__main__":
    main()
