"""Run policies on seeds: one KPI row per policy x episode, the same seeds for every policy.

Common random numbers: an episode's demand depends on its seed alone, and each
episode gets a fresh policy seeded with the episode seed, so a row depends on
(scenario, policy, parameters, seed) and nothing else -- not on the order the
episodes run in, nor on how many worker processes share them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from allocsim.agents.mode_adapter import for_env
from allocsim.baselines.registry import Predictor, make_policy
from allocsim.core.processes import process_pool
from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.episode import play
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.envs.scenario.errors import format_validation_error
from allocsim.experiments.episode_store import EpisodeStore
from allocsim.experiments.warmup import after_warm_up

Row = dict[str, Any]


@dataclass(frozen=True)
class PolicySpec:
    """A policy to evaluate: registry ``name``, its ``params`` and the ``label`` its rows carry.

    With ``model`` (a training run folder) it is a learned policy instead of a rule set.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    model: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.name)


def run_episode(env: AllocationEnv, policy: Predictor, seed: int, warm_up: int = 0) -> Row:
    """Play one episode on ``seed``; its KPI dict (with ``seed``), the first ``warm_up`` periods dropped."""
    snapshot: dict[str, Any] = {}
    period = 0
    for step in play(env, lambda obs: policy.predict(obs, deterministic=True)[0], seed):
        period = step.period + 1
        if period == warm_up and warm_up:
            snapshot = env.kpis()
    kpis = env.kpis()
    if warm_up:
        kpis = after_warm_up(kpis, snapshot, period, warm_up)
    return {"seed": seed, **kpis}


# ------------------------------------------------------------------ workers
_ENVS: dict[str, AllocationEnv] = {}
_LEARNED: dict[str, Any] = {}


def learned_spec(model: str | Path) -> PolicySpec:
    """A spec for a learned policy: a training run folder (``<algo>:<run name>``) or an exported
    ``.onnx`` file (``onnx:<file stem>``, or ``onnx:<folder>`` for a file called ``policy.onnx``;
    the policy shipped with the package is ``pretrained:<algo>`` wherever it comes in)."""
    from allocsim.agents.lookahead import PREFIX as LOOKAHEAD

    if str(model).startswith(LOOKAHEAD):  # rollout improvement of an exported policy
        if Path(str(model)[len(LOOKAHEAD):]).suffix != ".onnx":
            raise ValueError(f"{model}: a lookahead takes an exported .onnx policy")
        inner = learned_spec(str(model)[len(LOOKAHEAD):])
        return PolicySpec("learned", label=f"lookahead:{inner.label}", model=str(model))
    path = Path(model)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise ValueError(f"{path}: no such ONNX file")
        from allocsim.agents import pretrained

        if pretrained.is_shipped(path):  # the shipped file, named as such wherever it comes in
            from allocsim.agents.inference import OnnxPolicy

            label = pretrained.pretrained_label(OnnxPolicy.load(path).card.algo)
            return PolicySpec("learned", label=label, model=str(path))
        name = path.parent.name if path.stem == "policy" and path.parent.name else path.stem
        return PolicySpec("learned", label=f"onnx:{name}", model=str(path))
    from allocsim.agents.runfiles import read_config

    config = read_config(path)
    return PolicySpec("learned", label=f"{config['algo']}:{path.name}", model=str(path))


def pretrained_spec(scenario: Scenario) -> PolicySpec | None:
    """The policy shipped for ``scenario`` (``allocsim.agents.pretrained``), labelled ``pretrained:<algo>``,
    when one exists and was exported for exactly this scenario (same content hash); else None."""
    from allocsim.agents.inference import OnnxPolicy
    from allocsim.agents.pretrained import pretrained_label, pretrained_path

    path = pretrained_path(scenario.name)
    if path is None:
        return None
    card = OnnxPolicy.load(path).card
    if card.scenario_hash != scenario.content_hash():
        return None
    return PolicySpec("learned", label=pretrained_label(card.algo), model=str(path))


def _load_model(model: str) -> Any:
    """A learned predictor: ``.onnx`` through the torch-free runtime, else a run folder (unpickled)."""
    if Path(model).suffix == ".onnx":
        from allocsim.agents.inference import OnnxPolicy

        return OnnxPolicy.load(model)
    from allocsim.agents.policy import load_learned

    return load_learned(model)


def build_policy(spec: PolicySpec, env: AllocationEnv, seed: int) -> Predictor:
    """The spec's predictor bound to ``env``: a rule from the registry, or a learned model (loaded once)."""
    if not spec.model:
        return make_policy(spec.name, env, seed=seed, **spec.params)
    from allocsim.agents.lookahead import PREFIX as LOOKAHEAD

    if spec.model.startswith(LOOKAHEAD):  # the exported policy, improved by rollouts at each decision
        from allocsim.agents.lookahead import LookaheadPolicy

        onnx = build_policy(PolicySpec("learned", model=spec.model[len(LOOKAHEAD):]), env, seed)
        return LookaheadPolicy(getattr(onnx, "policy", onnx), env, seed=seed, **spec.params)
    path = Path(spec.model)
    stamp = path if path.suffix == ".onnx" else path / "model.zip"
    key = f"{spec.model}@{stamp.stat().st_mtime_ns if stamp.is_file() else 0}"  # a retrained run reloads
    policy = _LEARNED.get(key)
    if policy is None:
        policy = _LEARNED[key] = _load_model(spec.model)
    return for_env(policy.fresh(), env)  # a targets/residual policy drives the shares env like a rule


def env_for(scenario: Scenario, action_mode: str = "shares",
            residual_around: Mapping[str, float] | None = None) -> AllocationEnv:
    """One env per scenario (and action mode) per process, built on first use."""
    key = f"{scenario.model_dump_json()}|{action_mode}|{sorted((residual_around or {}).items())}"
    env = _ENVS.get(key)
    if env is None:
        env = _ENVS[key] = AllocationEnv(scenario, action_mode=action_mode, residual_around=residual_around)
    return env


def _run_chunk(scenario: Scenario, spec: PolicySpec, seeds: Sequence[int], warm_up: int) -> list[Row]:
    """Worker task: ``spec`` on each seed, a fresh policy seeded per episode."""
    env = env_for(scenario)
    rows = []
    for seed in seeds:
        policy = build_policy(spec, env, seed)
        rows.append({"policy": spec.label, **run_episode(env, policy, seed, warm_up)})
    return rows


def _trained_elsewhere(spec: PolicySpec, scenario: Scenario) -> str:
    """`` (trained on retail-small, not tiny-dp)`` for a learned policy played on another scenario
    than its own (why its sizes do not fit), else nothing."""
    if not spec.model:
        return ""
    from allocsim.experiments.trained_model import trained_scenario

    try:
        trained = trained_scenario(Path(spec.model))
    except (OSError, KeyError, ValueError):  # the refusal itself says what is wrong with the model
        return ""
    return f" (trained on {trained}, not {scenario.name})" if trained != scenario.name else ""


def prepare(scenario: str | Path | Scenario, specs: Sequence[PolicySpec]) -> Scenario:
    """Load the scenario and build every policy once, so bad input fails here, not in a worker.

    Raises ``ScenarioError``, ``DemandCsvError`` or ``ValueError`` (unknown policy, bad parameters).
    """
    loaded = load_scenario(scenario) if not isinstance(scenario, Scenario) else scenario
    env = env_for(loaded)
    for spec in specs:
        try:
            build_policy(spec, env, seed=0)
        except ValidationError as err:  # the rule's parameters
            raise ValueError(format_validation_error(err, f"policy {spec.label!r}")) from None
        except (TypeError, ValueError) as err:
            first = str(err).strip().splitlines()
            detail = " ".join(line.strip() for line in first[:3])
            raise ValueError(f"policy {spec.label!r}{_trained_elsewhere(spec, loaded)}: {detail}") from None
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"policy labels must be unique, got {labels}")
    return loaded


def evaluate(
    scenario: str | Path | Scenario,
    specs: Sequence[PolicySpec],
    seeds: Sequence[int],
    *,
    n_workers: int | None = None,
    warm_up: int = 0,
    on_done: Callable[[int], None] | None = None,
    store: EpisodeStore | None = None,
) -> list[Row]:
    """Every spec on every seed; rows ordered by spec, then seed, whatever ``n_workers``.

    ``n_workers`` defaults to ``os.cpu_count()``; 1 runs in this process. ``on_done``
    is called with the number of episodes each finished task completed (for a
    progress bar). Each worker builds its own env from the scenario. With ``store``, rows it
    holds are taken as they are (counted at once) and each finished task is saved to it.
    """
    if not specs or not seeds:
        raise ValueError("need at least one policy and one seed")
    loaded = prepare(scenario, specs)
    if not 0 <= warm_up < loaded.periods:
        raise ValueError(f"warm-up must be in 0..{loaded.periods - 1} periods, got {warm_up}")
    workers = max(1, n_workers or os.cpu_count() or 1)
    size = max(1, math.ceil(len(seeds) / (4 * workers)))  # a slow rule spreads over all workers
    kept = store.load() if store is not None else {}
    position = {seed: j for j, seed in enumerate(seeds)}
    results: dict[tuple[int, int], list[Row]] = {
        (i, position[seed]): [kept[spec.label, seed]]
        for i, spec in enumerate(specs) for seed in seeds if (spec.label, seed) in kept}
    left = {i: [s for s in seeds if (i, position[s]) not in results] for i in range(len(specs))}
    tasks = [
        (i, spec, left[i][j : j + size])
        for j in range(0, len(seeds), size)
        for i, spec in enumerate(specs) if left[i][j : j + size]
    ]
    if on_done and results:
        on_done(len(results))

    def finished(i: int, chunk: list[int], rows: list[Row]) -> None:
        results[i, position[chunk[0]]] = rows
        if store is not None:
            store.save(specs[i].label, rows)
        if on_done:
            on_done(len(chunk))

    if workers == 1 or len(tasks) <= 1:
        for i, spec, chunk in tasks:
            finished(i, chunk, _run_chunk(loaded, spec, chunk, warm_up))
    else:
        with process_pool(min(workers, len(tasks))) as pool:
            futures = {pool.submit(_run_chunk, loaded, spec, chunk, warm_up): (i, chunk)
                       for i, spec, chunk in tasks}
            for future in as_completed(futures):
                finished(*futures[future], future.result())
    return [row for key in sorted(results) for row in results[key]]


# ------------------------------------------------------------------ results
def simulate(
    scenario: str | Scenario, policy: str, episodes: int, seed: int, n_workers: int = 1,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``allocsim simulate`` result: episodes on seeds ``seed .. seed + episodes - 1``, the rule
    on ``params`` (its defaults where None; the command passes the tuned ones, as benchmark does)."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    loaded = load_scenario(scenario) if not isinstance(scenario, Scenario) else scenario
    spec = PolicySpec(policy, dict(params or {}))
    rows = evaluate(loaded, [spec], range(seed, seed + episodes), n_workers=n_workers)
    episodes_out = [{k: v for k, v in r.items() if k != "policy"} for r in rows]
    return {
        "scenario": loaded.name,
        "timing": loaded.timing.mode,
        "policy": policy,
        "params": dict(params or {}),
        "episodes": episodes_out,
        "summary": summarise(episodes_out),
    }


def scalar_kpis(rows: Sequence[Row]) -> list[str]:
    """Names of the scalar KPIs in the rows, in the env's order (no seed, policy or breakdowns)."""
    return [k for k, v in rows[0].items() if isinstance(v, int | float) and k != "seed"]


def summarise(rows: list[Row]) -> dict[str, float]:
    """Mean of every scalar KPI over the rows (NaN where a KPI is undefined in all)."""
    out: dict[str, float] = {}
    for key in scalar_kpis(rows):
        values = [float(r[key]) for r in rows if not math.isnan(float(r[key]))]
        out[key] = sum(values) / len(values) if values else float("nan")
    return out


def flatten(row: Row, prefix: str = "") -> Row:
    """Nested breakdowns as flat columns: ``by_location.store-north.fill_rate``."""
    out: Row = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
