"""Which policies a benchmark (or a training run's reference) plays and with which parameters.

Kept apart from ``allocsim.experiments.benchmark`` (pandas, SciPy, matplotlib: seconds to import), so
``benchmark`` prints its parameter sources and ``train`` picks its reference rule without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from allocsim.baselines.registry import POLICIES, policy_names, rule_names
from allocsim.baselines.tuned_params import DEFAULT_TUNED_DIR, lookup_tuned
from allocsim.envs.scenario import Scenario
from allocsim.experiments.evaluation import PolicySpec


def default_out(scenario: str, now: datetime | None = None) -> Path:
    """``runs/<timestamp>-<scenario>/`` under the working directory."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{stamp}-{scenario}"


def with_demand_csv(scenario: Scenario, path: Path | None, resample: str | None = None) -> Scenario:
    """The scenario with its demand replayed from ``path`` (absolute, so workers find it) and, if given,
    how seeds resample it (``block`` or ``none``, ``allocsim.envs.history_resample``)."""
    update: dict[str, Any] = {} if path is None else {"csv": str(Path(path).resolve())}
    if resample is not None:
        update["resample"] = resample
    demand = scenario.demand.model_validate({**scenario.demand.model_dump(by_alias=True), **update})
    return scenario.model_copy(update={"demand": demand})


def rule_specs(
    scenario: Scenario, names: Sequence[str] | None = None, tuned_dir: Path | None = DEFAULT_TUNED_DIR
) -> tuple[list[PolicySpec], dict[str, dict[str, Any]]]:
    """Specs for ``names`` (default: every rule set, no exact optima) and where their parameters came from.

    ``source`` is ``tuned: <path>`` (the user's ``tuned_dir``), ``tuned (packaged)`` or ``defaults``.
    """
    valid = policy_names()
    chosen = list(names) if names else rule_names()
    unknown = [n for n in chosen if n not in valid]
    if unknown:
        raise ValueError(f"unknown policy {unknown[0]!r}; valid: {', '.join(valid)}")
    specs, sources = [], {}
    for name in dict.fromkeys(chosen):
        found = lookup_tuned(scenario, name, tuned_dir)  # its source says why a file was passed over
        params = dict(found.tuned.params) if found.tuned is not None else {}
        specs.append(PolicySpec(name, params))
        sources[name] = {"params": effective_params(name, params), "source": found.source}
    return specs, sources


def source_lines(sources: dict[str, dict[str, Any]]) -> list[str]:
    """One console line per parameter source, naming its policies: ``tuned (packaged): balanced, ...``,
    ``tuned from tuned/x/min-max.json: min-max``, ``defaults: hold, random``."""
    groups: dict[str, list[str]] = {}
    for name, entry in sources.items():
        groups.setdefault(str(entry["source"]), []).append(name)
    return [f"{source.replace('tuned: ', 'tuned from ', 1)}: {', '.join(names)}"
            for source, names in groups.items()]


def effective_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every parameter the rule will run with (defaults filled in), for the report; {} if it has none.

    Parameters the rule rejects are returned as given: ``evaluate`` reports them.
    """
    model = getattr(POLICIES[name], "Params", None)
    if model is None:
        return dict(params)
    try:
        return model(**params).model_dump(mode="json")
    except ValueError:
        return dict(params)
