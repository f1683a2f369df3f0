"""Where the Lagrangian bound is loose: each piece of L(lam) against what a played policy earns there.

``L(lam) = DC(lam) + sum_lanes V_lane(lam) (+ fallback lanes)``, and any policy's profit on a
seed splits the same way at the same prices (the DC's releases sold at ``lam``, each lane's
shipments bought at ``lam``; the price terms cancel in the sum). Per piece this prints the
bound's value, the policy's mean on the test seeds (its pieces priced by the clairvoyant LP
with the played shipments and orders pinned) and the difference: the piece's share of the
bound-minus-policy gap. The pinned LP reproduces the episode's profit where every lane loses
its unmet sales and nothing ages; elsewhere (markdowns are ignored, every unmet unit of a
backordering channel may wait) the policy's pieces add up to more than its profit, and the
excess is printed apart (``unattributed``). A piece whose bound is far above every policy's
is where the bound is loose (or every policy is weak there).

Usage: ``python bench/bench_lagrangian_slack.py --preset small-dp --policy dp --seeds 200``; ``--model
PATH`` prices a learned policy instead (e.g. ``results/contracts-scarce/policy.onnx``).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from harness import write_results  # beside this file (on sys.path)

from allocsim.baselines.clairvoyant import played_decisions
from allocsim.baselines.lagrangian_bound import Split, _DCPiece, _terminal, dc_block, fallback_block
from allocsim.baselines.lagrangian_dc import dc_plan
from allocsim.baselines.lagrangian_lanes import solve_lane
from allocsim.baselines.lp_builder import LPBuilder
from allocsim.baselines.registry import make_policy
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import sample_episode
from allocsim.envs.scenario import load_scenario
from allocsim.experiments.evaluation import PolicySpec, build_policy
from allocsim.experiments.lagrangian_store import multipliers_for
from allocsim.experiments.policy_specs import rule_specs


def _played(env: AllocationEnv, policy: Any, seed: int) -> tuple[float, np.ndarray, np.ndarray]:
    """(profit, shipments (T, L, S), supplier orders (T, S)) of one episode."""
    ships, orders = played_decisions(env, policy, seed)
    return float(env.kpis()["profit"]), ships, orders


def _lane_value(net: Any, demand: np.ndarray, loc: int, sku: int, price: np.ndarray,
                shipped: np.ndarray | None) -> float:
    """A lane's perfect-information LP at ``price``, its purchases pinned to ``shipped`` if given."""
    lp = LPBuilder()
    buy = fallback_block(lp, net, demand, loc, sku, -price)
    if shipped is not None:
        lp.fix(buy, shipped)
    return lp.solve().objective


def slack(name: str, policy_name: str, seeds: list[int], model: str = "") -> dict[str, Any]:
    """The pieces of L(lam) at the scenario's fitted prices and the policy's value of each (``model``: a
    learned policy's file, played instead of the rule)."""
    env, scenario = AllocationEnv(name), load_scenario(name)
    net, profile = env.network, env.profile
    lam = multipliers_for(scenario).price
    if model:
        policy = build_policy(PolicySpec("learned", model=model), env, 0)
        policy_name = model
    else:
        specs, _ = rule_specs(scenario, [policy_name])
        policy = make_policy(policy_name, env, **specs[0].params)
    split = Split.of(net, profile)
    lanes = {(lane.loc, lane.sku): solve_lane(lane, lam[:, lane.sku]).value for lane in split.dp}
    rows: dict[str, list[tuple[float, float]]] = {"DC": [], "fallback lanes": []}
    rows.update({f"lane {net.locations[loc]}/{net.skus[sku]}": [] for loc, sku in lanes})
    profits = []
    dc_exact = dc_plan(split.dc, lam)[0] if split.dc is not None else None
    for seed in seeds:
        profit, ships, orders = _played(env, policy, seed)
        profits.append(profit)
        episode = sample_episode(profile, net, seed)
        lp = LPBuilder()
        dc_block(net, episode, lp, lam)
        dc_bound = dc_exact if dc_exact is not None else lp.solve().objective
        lp = LPBuilder()
        piece = _DCPiece(net, episode, lp, lam)
        piece.stock()
        piece.supplier()
        lp.fix(piece.ship[:, 0, :], ships.sum(axis=1))
        if piece.orders:
            lp.fix(piece.order, orders)
        rows["DC"].append((dc_bound, lp.solve().objective))
        fb = [(_lane_value(net, episode.demand[:, loc, sku], loc, sku, lam[:, sku], None),
               _lane_value(net, episode.demand[:, loc, sku], loc, sku, lam[:, sku], ships[:, loc, sku]))
              for loc, sku in split.fallback]
        rows["fallback lanes"].append((sum(b for b, _ in fb), sum(p for _, p in fb)))
        for (loc, sku), value in lanes.items():
            mine = _lane_value(net, episode.demand[:, loc, sku, :], loc, sku, lam[:, sku], ships[:, loc, sku])
            rows[f"lane {net.locations[loc]}/{net.skus[sku]}"].append((value, mine))
    pieces = {}
    for key, pairs in rows.items():
        bound, played = np.array(pairs).T if pairs else (np.zeros(1), np.zeros(1))
        half = 1.96 * float(np.std(played, ddof=1)) / np.sqrt(len(played)) if len(played) > 1 else 0.0
        pieces[key] = {"bound": float(bound.mean()), "policy": float(played.mean()), "policy_ci95": half,
                       "slack": float(bound.mean() - played.mean())}
    total = sum(p["bound"] for p in pieces.values()) + _terminal(net, split.dp, lam)
    priced = sum(p["policy"] for p in pieces.values())
    return {"preset": name, "policy": policy_name, "seeds": len(seeds), "bound": total,
            "profit": float(np.mean(profits)), "pieces": pieces, "pieces_policy": priced,
            "unattributed": priced - float(np.mean(profits))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small-dp")
    parser.add_argument("--policy", default="dp", help="a registered policy, with its tuned parameters")
    parser.add_argument("--seeds", type=int, default=40, help="test seeds from 40000 (default 40)")
    parser.add_argument("--model", default="", help="a learned policy's file (.onnx), played instead")
    args = parser.parse_args()
    out = slack(args.preset, args.policy, list(range(40_000, 40_000 + args.seeds)), args.model)
    print(f"{out['preset']}: L(lam) {out['bound']:,.2f}, {out['policy']} {out['profit']:,.2f} "
          f"on {out['seeds']} seeds")
    for key, p in out["pieces"].items():
        print(f"  {key:28s} bound {p['bound']:>11,.2f}  policy {p['policy']:>11,.2f} "
              f"+- {p['policy_ci95']:7,.2f}  slack {p['slack']:>9,.2f}")
    print(f"  the policy's pieces add up to {out['pieces_policy']:,.2f}: {out['unattributed']:,.2f} "
          "above its profit (what the pinned LP values above the simulated episodes)")
    write_results(f"bench_lagrangian_slack_{args.preset}", out)


if __name__ == "__main__":
    main()
