"""Policy kinds of a sweep: how a policy entry of the sweep file becomes cells, and how a cell runs.

A kind is registered under the name a sweep entry gives as ``kind``. It has three jobs:

``expand(entry, scenario, ctx)``  (driver) validate the entry and return the plain,
                                  JSON-able ``policy`` dict every cell of it carries;
                                  everything a worker needs must be inside (resolved
                                  parameters, not a path to a local file), because on a
                                  Ray cluster the worker may be another machine;
``check(policy, scenario)``       (driver) fail now, with a ValueError, on what would fail
                                  in every cell (e.g. parameters the rule rejects);
``run(cell)``                     (worker) the KPI row of one cell, a pure function of
                                  the cell dict (scenario dump, policy dict, seed, warm-up).

Registered: ``rule`` (a rule set with given, default or tuned parameters), ``onnx``
(an exported policy; the file's bytes travel inside the cell, so workers need no files;
``path: pretrained`` takes the policy shipped for each scenario), ``model`` (a training
run folder, its files inside the cell; unpickled on the worker) and ``train`` (a
training job, trained once per machine, then played on the cell's seed; see
``experiments.sweep_training``). ``onnx`` and ``model`` entries apply to the scenarios
they were made for (same content hash) and are skipped on the others. A new kind is
registered with ``register_kind``; an entry of any other kind fails with a one-line
config error.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from allocsim.agents.mode_adapter import for_env
from allocsim.baselines.registry import make_policy, policy_names
from allocsim.baselines.tuned_params import lookup_tuned, no_tuned_reason
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import PolicySpec, Row, env_for, prepare, run_episode
from allocsim.experiments.sweep_config import SweepConfigError, format_error
from allocsim.experiments.sweep_training import ModelKind, TrainKind


@dataclass(frozen=True)
class ExpandContext:
    """What a kind may need from the sweep file besides its own entry."""

    source: str  # the sweep file, for error messages
    tuned_dir: Path


class PolicyKind(Protocol):
    def expand(
        self, entry: dict[str, Any], scenario: Scenario, ctx: ExpandContext
    ) -> dict[str, Any] | None: ...

    def check(self, policy: dict[str, Any], scenario: Scenario) -> None: ...

    def run(self, cell: dict[str, Any]) -> Row: ...


# ------------------------------------------------------------------ worker helpers
_SCENARIOS: dict[str, Scenario] = {}


def scenario_of(cell: dict[str, Any]) -> Scenario:
    """The cell's scenario, validated once per process (keyed by its canonical JSON)."""
    key = json.dumps(cell["scenario_spec"], sort_keys=True)
    scenario = _SCENARIOS.get(key)
    if scenario is None:
        scenario = _SCENARIOS[key] = Scenario.model_validate(cell["scenario_spec"])
    return scenario


# ------------------------------------------------------------------ rule
class RuleEntry(BaseModel):
    """``{name: base-stock, params: {...} | tuned, label: ...}``; a bare string is ``{name: ...}``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["rule"] = "rule"
    name: str
    params: dict[str, Any] | Literal["tuned"] = Field(default_factory=dict)
    label: str | None = None


class RuleKind:
    """A rule set from ``baselines.registry`` with given, default or tuned parameters."""

    def expand(self, entry: dict[str, Any], scenario: Scenario, ctx: ExpandContext) -> dict[str, Any]:
        rule = RuleEntry.model_validate(entry)
        if rule.name not in policy_names():
            raise ValueError(f"unknown rule {rule.name!r}; valid: {', '.join(policy_names())}")
        if rule.params == "tuned":
            found = lookup_tuned(scenario, rule.name, ctx.tuned_dir)
            if found.tuned is None:
                raise ValueError(f"no tuned parameters for {rule.name!r} on {scenario.name!r}: "
                                 f"{no_tuned_reason(scenario, rule.name, ctx.tuned_dir, found)}")
            params = dict(found.tuned.params)
            label = rule.label or f"{rule.name}-tuned"
        else:
            params = dict(rule.params)
            label = rule.label or rule.name
        return {"kind": "rule", "name": rule.name, "params": params, "label": label}

    def check(self, policy: dict[str, Any], scenario: Scenario) -> None:
        prepare(scenario, [PolicySpec(policy["name"], policy["params"], policy["label"])])

    def run(self, cell: dict[str, Any]) -> Row:
        policy, seed = cell["policy"], cell["seed"]
        env = env_for(scenario_of(cell))
        predictor = make_policy(policy["name"], env, seed=seed, **policy["params"])
        return run_episode(env, predictor, seed, cell["warm_up"])


# ------------------------------------------------------------------ onnx
class OnnxEntry(BaseModel):
    """``{kind: onnx, path: policy.onnx | pretrained, label: ...}``; relative to the sweep file."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["onnx"]
    path: str
    label: str | None = None


_ONNX: dict[str, Any] = {}


def _onnx_policy(data: bytes, name: str) -> Any:
    """An ``OnnxPolicy`` from file bytes, built once per process per model."""
    from allocsim.agents.inference import OnnxPolicy

    key = hashlib.sha256(data).hexdigest()
    if key not in _ONNX:
        _ONNX[key] = OnnxPolicy.from_bytes(data, name)
    return _ONNX[key]


class OnnxKind:
    """An exported policy run through the torch-free runtime."""

    def expand(self, entry: dict[str, Any], scenario: Scenario, ctx: ExpandContext) -> dict[str, Any] | None:
        from allocsim.agents.pretrained import is_shipped, pretrained_label, pretrained_path

        onnx_entry = OnnxEntry.model_validate(entry)
        if onnx_entry.path == "pretrained":
            path = pretrained_path(scenario.name)
            if path is None:
                return None
        else:
            path = Path(onnx_entry.path)
            path = path if path.is_absolute() else Path(ctx.source).parent / path
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ValueError(f"path: cannot read {path} ({err.strerror or err})") from None
        policy = _onnx_policy(data, path.stem)
        if policy.card.scenario_hash != scenario.content_hash():
            return None  # exported for another scenario
        shipped = onnx_entry.path == "pretrained" or is_shipped(path)
        label = onnx_entry.label or (pretrained_label(policy.card.algo) if shipped else f"onnx:{path.stem}")
        return {"kind": "onnx", "name": path.stem, "model_b64": base64.b64encode(data).decode("ascii"),
                "label": label}

    def check(self, policy: dict[str, Any], scenario: Scenario) -> None:
        for_env(_onnx_policy(base64.b64decode(policy["model_b64"]), policy["name"]), env_for(scenario))

    def run(self, cell: dict[str, Any]) -> Row:
        policy = cell["policy"]
        env = env_for(scenario_of(cell))
        predictor = for_env(_onnx_policy(base64.b64decode(policy["model_b64"]), policy["name"]), env)
        return run_episode(env, predictor, cell["seed"], cell["warm_up"])


# ------------------------------------------------------------------ registry
KINDS: dict[str, PolicyKind] = {
    "rule": RuleKind(), "onnx": OnnxKind(), "train": TrainKind(), "model": ModelKind(),
}

#: Kinds that may come later; named in the error so a user knows they are planned.
PLANNED: tuple[str, ...] = ()


def register_kind(name: str, kind: PolicyKind) -> None:
    """Make ``kind: <name>`` entries valid in sweep files (the extension point for models and training)."""
    KINDS[name] = kind


def expand_entry(
    raw: str | dict[str, Any], index: int, scenario: Scenario, ctx: ExpandContext
) -> dict[str, Any] | None:
    """The plain policy dict of sweep entry ``policies[index]`` on ``scenario`` (None: the entry does not
    apply to this scenario); SweepConfigError if bad."""
    entry = {"name": raw} if isinstance(raw, str) else dict(raw)
    kind_name = entry.get("kind", "rule")
    where = f"{ctx.source}: policies.{index}"
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        planned = [k for k in PLANNED if k not in KINDS]
        note = f" ({', '.join(planned)} are planned)" if planned else ""
        raise SweepConfigError(
            f"{where}.kind: unknown policy kind {kind_name!r}; valid: {', '.join(sorted(KINDS))}{note}"
        )
    try:
        policy = kind.expand(entry, scenario, ctx)
        if policy is not None:
            kind.check(policy, scenario)
    except ValidationError as err:
        raise SweepConfigError(format_error(err, ctx.source, f"policies.{index}")) from None
    except (TypeError, ValueError) as err:
        detail = " ".join(line.strip() for line in str(err).strip().splitlines()[:3])
        raise SweepConfigError(f"{where}: {detail}") from None
    return policy


def run_policy_cell(cell: dict[str, Any]) -> Row:
    """Worker side: the KPI row of ``cell`` by its policy kind."""
    return KINDS[cell["policy"]["kind"]].run(cell)
