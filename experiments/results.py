"""``allocsim results`` (``make results``): the learned-policy results table, rebuilt resumably.

For each scenario of the config (``experiments/configs/results.yaml``):

1. train one run per training seed in ``OUT/runs/<scenario>-<algo>-seed<K>/``; a finished run
   is skipped and an interrupted one resumes from its last checkpoint;
2. export each finished run to ``policy.onnx`` beside it (skipped when up to date);
3. benchmark every tuned rule and every exported seed on the same test episodes (common
   random numbers, with the clairvoyant bound) into ``OUT/<scenario>/`` -- skipped when its
   ``models.json`` (written last) names the same test seeds and the same ONNX digests;
4. copy the best seed's ``policy.onnx`` to ``OUT/<scenario>/policy.onnx``.

Then ``OUT/README.md`` gets one table over all scenarios that have a benchmark
(``allocsim.experiments.results_table``).
Each step writes atomically, so killing ``make results`` loses at most the work in flight.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator, model_validator

from allocsim.agents import runfiles
from allocsim.baselines.registry import policy_names, rule_names
from allocsim.baselines.tuned_params import load_tuned
from allocsim.core.atomic_files import write_bytes, write_text
from allocsim.core.error_text import shorten
from allocsim.envs.action_modes import mode_class
from allocsim.envs.demand_stream import DEMAND_STREAM
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.envs.scenario.yaml_file import read_yaml
from allocsim.experiments.episode_store import EpisodeStore
from allocsim.experiments.evaluation import PolicySpec
from allocsim.experiments.option_limits import MAX_SEED
from allocsim.experiments.reference_interval import markdown_table
from allocsim.experiments.results_table import (
    carry_label,
    carry_over_markdown,
    carry_over_row,
    headline,
    interval_note,
    interval_of,
    kept_steps,
    seed_number,
    stream_note,
    table_markdown,
)
from allocsim.experiments.run_folder import read_manifest, write_manifest
from allocsim.experiments.seeds import seed_block, seed_range

Log = Callable[[str], None]
MODELS_STAMP = "models.json"  # seeds, ONNX digests and rule parameters the benchmark ran; written last
PENDING_STAMP = "stamp.json"  # beside the kept episodes: what the unfinished benchmark was playing


def known_policies(names: list[str]) -> list[str]:
    """``names`` when every one is a policy name; ValueError naming the first that is not."""
    unknown = [name for name in names if name not in policy_names()]
    if unknown:
        raise ValueError(f"{shorten(repr(unknown[0]), 80)} is not a policy name "
                         f"(valid: {', '.join(policy_names())})")
    return names


class ScenarioRuns(BaseModel):
    """Training budget, action mode and episode counts of one scenario; None takes the hyperparameter
    file's value (budget) or the config's (episodes)."""

    model_config = ConfigDict(extra="forbid")

    timesteps: int | None = Field(default=None, ge=1)
    n_envs: int | None = Field(default=None, ge=1)
    action_mode: str = Field(default="shares", description="env action mode while training")
    episodes: int | None = Field(default=None, ge=2, description="test episodes [default: the config's]")
    eval_episodes: int | None = Field(default=None, ge=2, description="validation episodes per checkpoint")
    rule: str | None = Field(default=None, description="validation reference and warm-start teacher "
                             "(allocsim train --rule), e.g. dp [default: the best tuned rule]")
    carry_over: str | None = Field(default=None, description="a scenario of this config whose shipped "
                                   "policy (OUT/<it>/policy.onnx) is played here too, unchanged")
    extra_rules: list[str] | None = Field(default=None, description="policies outside the rule sets played "
                                          "on this scenario [default: the config's extra_rules]")

    @field_validator("extra_rules")
    @classmethod
    def _known_extra(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else known_policies(value)

    @field_validator("action_mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        mode_class(value)
        return value


class ResultsConfig(BaseModel):
    """The experiment behind the README's learned-policy table."""

    model_config = ConfigDict(extra="forbid")

    algo: str = "ppo"
    seeds: list[Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)]] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], min_length=1, description="training seeds")
    episodes: int = Field(default=100, ge=2, description="test episodes per policy")
    eval_episodes: int = Field(default=10, ge=2, description="validation episodes per checkpoint")
    tuned_dir: str = "tuned"
    hyperparams: str | None = Field(default=None, description="hyperparameter YAML [default: packaged]")
    extra_rules: list[str] = Field(default_factory=list, description="policies outside the rule sets "
                                   "(e.g. sp-mpc) benchmarked too; a played sp-mpc counts among the tuned "
                                   "rules, as in every benchmark")
    scenarios: dict[str, ScenarioRuns]

    @field_validator("extra_rules")
    @classmethod
    def _known_policies(cls, value: list[str]) -> list[str]:
        return known_policies(value)

    @field_validator("scenarios")
    @classmethod
    def _presets_only(cls, value: dict[str, ScenarioRuns]) -> dict[str, ScenarioRuns]:
        from allocsim.envs.scenario import preset_names

        unknown = [name for name in value if name not in preset_names()]
        if unknown:
            raise ValueError(f"{shorten(repr(unknown[0]), 80)} is not a preset name (the results table "
                             f"covers presets; valid: {', '.join(preset_names())})")
        return value

    @model_validator(mode="after")
    def _carried_from_a_scenario_of_the_config(self) -> ResultsConfig:
        for name, runs in self.scenarios.items():
            source = runs.carry_over
            if source is not None and (source == name or source not in self.scenarios):
                others = ", ".join(n for n in self.scenarios if n != name)
                raise ValueError(f"scenarios.{name}.carry_over: {shorten(repr(source), 80)} is not another "
                                 f"scenario of this config (valid: {others})")
        return self


def extra_rules_of(config: ResultsConfig, scenario: str) -> list[str]:
    """The extra rules played on ``scenario``: its own entry's, else the config's."""
    own = config.scenarios[scenario].extra_rules
    return config.extra_rules if own is None else own


def compared_rules(config: ResultsConfig, scenario: str) -> list[str]:
    """The policies the benchmark plays on ``scenario`` beside the learned seeds: every rule set, then its
    extra rules (the best tuned rule among them is ``registry.best_tuned_rule``'s choice)."""
    return list(dict.fromkeys([*rule_names(), *extra_rules_of(config, scenario)]))


def load_results_config(path: Path) -> ResultsConfig:
    """The config at ``path``; ValueError with one line naming the field when it is bad."""
    try:
        data = read_yaml(Path(path), ValueError)  # one line naming the file: read, YAML, duplicate keys
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping with a scenarios entry")
        return ResultsConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"{path}: {where}: {msg} (got {str(first.get('input'))[:80]!r})") from None


@dataclass(frozen=True)
class Paths:
    """Where one scenario's runs and benchmark go; a non-``shares`` action mode names its runs."""

    out: Path
    scenario: str
    algo: str
    action_mode: str = "shares"

    def run(self, seed: int) -> Path:
        mode = "" if self.action_mode == "shares" else f"-{self.action_mode}"
        return self.out / "runs" / f"{self.scenario}-{self.algo}{mode}-seed{seed}"

    @property
    def bench(self) -> Path:
        return self.out / self.scenario


def train_seeds(config: ResultsConfig, scenario: Scenario, paths: Paths, workers: int, log: Log) -> list[int]:
    """Train (or resume) every seed; the seeds whose runs are finished."""
    from allocsim.agents.hyperparams import load_hyperparams
    from allocsim.agents.training import planned_timesteps, train
    from allocsim.experiments.train_cmd import TrainingJob, prepare_training

    runs = config.scenarios[scenario.name]
    hp_file = Path(config.hyperparams) if config.hyperparams else None
    hp = load_hyperparams(config.algo, scenario.name, hp_file)
    total = planned_timesteps(config.algo, hp, runs.timesteps or hp.n_timesteps, runs.n_envs or hp.n_envs)
    for seed in config.seeds:
        if runfiles.read_progress(paths.run(seed)).get("timesteps", 0) >= total:
            log(f"{scenario.name} seed {seed}: trained")
            continue
        job = TrainingJob(scenario=scenario.name, algo=config.algo, seed=seed, timesteps=runs.timesteps,
                          n_envs=runs.n_envs, out=paths.run(seed),
                          eval_episodes=runs.eval_episodes or config.eval_episodes,
                          tuned_dir=Path(config.tuned_dir), hyperparams=hp_file, action_mode=runs.action_mode,
                          rule=runs.rule)
        train_config, evaluator, reference = prepare_training(job, scenario, workers)
        log(f"{scenario.name} seed {seed}: training {train_config.planned:,} steps (vs {reference.label})")
        result = train(train_config, resume=True, evaluator=evaluator)
        log(f"{scenario.name} seed {seed}: {result.timesteps:,} steps in {result.seconds:.0f} s")
    return [s for s in config.seeds if runfiles.read_progress(paths.run(s)).get("timesteps", 0) >= total]


def export_seeds(paths: Paths, seeds: list[int], log: Log) -> dict[int, Path]:
    """``policy.onnx`` beside each finished run, re-exported when the model is newer."""
    from allocsim.agents.export import export_run

    exported = {}
    for seed in seeds:
        run = paths.run(seed)
        onnx_path = run / "policy.onnx"
        model = run / runfiles.MODEL
        if not onnx_path.is_file() or onnx_path.stat().st_mtime < model.stat().st_mtime:
            export_run(run, onnx_path)
            log(f"{paths.scenario} seed {seed}: exported {onnx_path}")
        exported[seed] = onnx_path
    return exported


def benchmark_scenario(
    config: ResultsConfig, scenario: Scenario, paths: Paths, exported: dict[int, Path], workers: int, log: Log
) -> None:
    """Rules and exported seeds on the test block into ``OUT/<scenario>/`` (skipped when current)."""
    from allocsim.experiments.benchmark import progress_total, rule_specs, run_benchmark, write_outputs
    from allocsim.experiments.plots_learning import LEARNING_CURVES, curves_figure
    from allocsim.experiments.progress import RunProgress

    seeds = seed_range(seed_block("test").start, config.scenarios[scenario.name].episodes or config.episodes)
    models = [PolicySpec("learned", label=f"{config.algo}-seed{k}", model=str(path))
              for k, path in exported.items()]
    source = config.scenarios[scenario.name].carry_over
    if source is not None:
        carried = paths.out / source / "policy.onnx"
        if carried.is_file():
            models.append(PolicySpec("learned", label=carry_label(config.algo, source), model=str(carried)))
        else:
            log(f"{scenario.name}: {carried} not there yet, benchmarked without the carry-over (a later "
                "run adds it)")
    tuned, rules = Path(config.tuned_dir), compared_rules(config, scenario.name)
    stamp = {"seeds": list(seeds), "models": {m.label: _digest(Path(m.model)) for m in models},
             "rules": rule_params(scenario, tuned, rules)}
    done = paths.bench / MODELS_STAMP
    if done.is_file() and json.loads(done.read_text(encoding="utf-8")) == stamp:
        played_on = int((read_manifest(paths.bench) or {}).get("demand_stream", 1))
        if played_on == DEMAND_STREAM:
            log(f"{scenario.name}: benchmark up to date")
            return
        log(f"{scenario.name}: benchmark on demand stream {played_on} (now {DEMAND_STREAM}): played again")
    log(f"{scenario.name}: benchmark of the rules and {len(models)} learned seed(s), {len(seeds)} episodes")
    specs = rule_specs(scenario, rules, tuned)[0] + models
    total = progress_total(scenario, specs, models, len(seeds), bounded=True)
    store = kept_episodes(paths.bench, stamp)
    if kept := store.count():
        log(f"{scenario.name}: {kept} episode(s) kept from an interrupted benchmark, not played again")
    with RunProgress(total, f"benchmark {scenario.name}", unit="episodes", every_s=10.0,
                     kept=kept) as progress:
        result = run_benchmark(scenario, seeds, policies=rules, tuned_dir=tuned, n_workers=workers,
                               models=models, on_done=progress.advance, store=store)
    curves = curves_figure({f"{config.algo}-seed{k}": paths.run(k) for k in exported}, scenario.currency)
    if curves is not None:
        result.images[LEARNING_CURVES] = curves
    done.unlink(missing_ok=True)
    written = write_outputs(result, paths.bench)
    write_manifest(paths.bench, "results", written, scenario=scenario.name)  # its demand stream: stream_note
    write_text(done, json.dumps(stamp, indent=1) + "\n")  # last: the benchmark is complete
    (store.root / PENDING_STAMP).unlink(missing_ok=True)
    store.remove()


def kept_episodes(folder: Path, stamp: dict[str, Any]) -> EpisodeStore:
    """The store of ``folder``'s benchmark episodes, kept as they finish so an interrupted benchmark
    resumes where it stopped; emptied first when they were played for another ``stamp`` (a seed
    retrained, a rule retuned: its rows would no longer be the rows a new run computes)."""
    store = EpisodeStore(folder)
    pending = store.root / PENDING_STAMP
    if pending.is_file() and json.loads(pending.read_text(encoding="utf-8")) != stamp:
        pending.unlink()
        store.remove()
    write_text(pending, json.dumps(stamp, indent=1) + "\n")
    return store


def rule_params(scenario: Scenario, tuned_dir: Path,
                names: list[str] | None = None) -> dict[str, dict[str, Any] | None]:
    """Each rule's parameters (``names``, default every rule set) as the benchmark will play them (tuned,
    or None for the defaults): part of the stamp, so retuning a rule makes the benchmark stale."""
    return {name: load_tuned(scenario, name, tuned_dir) for name in names or rule_names()}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_results(config: ResultsConfig, out: Path, only: list[str] | None, workers: int, log: Log) -> Path:
    """Every step for every (chosen) scenario, then ``OUT/README.md``; its path."""
    names = only or list(config.scenarios)
    unknown = [n for n in names if n not in config.scenarios]
    if unknown:
        valid = ", ".join(config.scenarios)
        raise ValueError(f"scenario {unknown[0]!r} is not in the results config; valid: {valid}")
    for name in names:
        scenario = load_scenario(name)
        paths = Paths(out, name, config.algo, config.scenarios[name].action_mode)
        finished = train_seeds(config, scenario, paths, workers, log)
        if not finished:
            continue
        exported = export_seeds(paths, finished, log)
        benchmark_scenario(config, scenario, paths, exported, workers, log)
        row = headline(paths.bench, config.algo)
        if row is not None and seed_number(row) in exported:
            write_bytes(paths.bench / "policy.onnx", exported[seed_number(row)].read_bytes())
    return write_readme(config, out)


def write_readme(config: ResultsConfig, out: Path) -> Path:
    """``OUT/README.md``: the results table from every scenario's benchmark files; its path."""
    rows, intervals, carried = [], [], []
    for name, runs in config.scenarios.items():
        paths = Paths(out, name, config.algo, runs.action_mode)
        moved = carry_over_row(paths.bench, config.algo, runs.carry_over) if runs.carry_over else None
        carried += [moved] if moved is not None else []
        row = headline(paths.bench, config.algo)
        if row is not None:
            interval = interval_of(paths.bench)
            bounded = interval is not None and interval.bound_kind is not None
            rows.append({**row, "kept_steps": kept_steps(paths.run(seed_number(row))),
                         "tightest": interval.bound.mean if bounded else None,
                         "tightest_kind": interval.bound_kind if bounded else None})
            if interval is not None:
                intervals.append((name, interval))
    text = ("# Learned policies against tuned rules\n\nRebuilt by `make results` (`allocsim results`); "
            f"{config.algo.upper()}, test seed block, common random numbers. One folder per scenario "
            "holds the benchmark (summary, plots, report.html) and the best seed's `policy.onnx`.\n\n")
    warm = started_with(config, out, "warm_start")
    if warm:
        teachers = [f"{n} (from {config.scenarios[n].rule or 'the best tuned rule'})" for n in warm]
        text += ("Warm-started (behaviour cloning with DAgger, then "
                 f"{config.algo.upper()}; each seed keeps its best validated checkpoint, and a kept "
                 f"checkpoint of 0 steps is the clone itself): {', '.join(teachers)}.\n\n")
    searched = started_with(config, out, "residual_start")
    if searched:
        text += ("Residual-started (the best constant residual action around tuned base-stock, found by "
                 f"coordinate search on training episodes, then {config.algo.upper()}; a kept checkpoint "
                 f"of 0 steps is the searched action itself): {', '.join(searched)}.\n\n")
    text += extra_rules_note(config, out)
    benches = [Paths(out, n, config.algo, r.action_mode).bench for n, r in config.scenarios.items()]
    text += stream_note(benches)
    table = table_markdown(rows, config.algo)
    if intervals:
        table += "\n" + interval_note(out) + markdown_table(intervals)
    return write_text(out / "README.md", text + table + carry_over_markdown(carried))


def extra_rules_note(config: ResultsConfig, out: Path) -> str:
    """Per extra rule, the scenarios whose stored benchmark played it (there it counts among the tuned
    rules) and those benchmarked without it (a later run adds it: their stamp is stale)."""
    text = ""
    extra = dict.fromkeys(rule for name in config.scenarios for rule in extra_rules_of(config, name))
    for rule in extra:
        played, without = [], []
        for name, runs in config.scenarios.items():
            if rule not in extra_rules_of(config, name):
                continue
            summary = Paths(out, name, config.algo, runs.action_mode).bench / "summary.csv"
            if summary.is_file():
                (played if rule in set(pd.read_csv(summary)["policy"]) else without).append(name)
        if played:
            text += (f"{rule} (with its tuned parameters) counts among the tuned rules on "
                     f"{', '.join(played)}")
            text += f"; not yet played on {', '.join(without)}.\n\n" if without else ".\n\n"
        elif without:
            text += f"{rule} is not yet played on {', '.join(without)}.\n\n"
    return text


def started_with(config: ResultsConfig, out: Path, start: str = "warm_start") -> list[str]:
    """The config's scenarios with a training run whose hyperparameters set ``start`` (``warm_start``:
    cloned a rule before learning; ``residual_start``: searched a constant residual), as its config says."""
    names = []
    for name in config.scenarios:
        paths = Paths(out, name, config.algo, config.scenarios[name].action_mode)
        configs = [runfiles.read_config(paths.run(s)) for s in config.seeds
                   if (paths.run(s) / runfiles.CONFIG).is_file()]
        if any((c.get("hyperparams") or {}).get(start) for c in configs):
            names.append(name)
    return names
