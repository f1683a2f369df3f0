"""``allocsim export`` and ``allocsim infer``: registered on the main app by ``register(app)``.

``export`` needs torch (it reads a training run); ``infer`` runs on the torch-free
runtime and never unpickles anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from allocsim.core.limits import MAX_PERIODS
from allocsim.experiments.option_limits import MAX_SEED


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
    app.command("infer")(infer_command)
    app.command("state")(state_command)


def export_command(
    model: Annotated[Path, typer.Option(help="training run folder (holds config.yaml and model.zip)")],
    out: Annotated[Path, typer.Option(help="where to write the ONNX file")] = Path("policy.onnx"),
) -> None:
    """Export a trained policy to ONNX (normalisation, deterministic action and decode inside)."""
    from allocsim.experiments.cli import _fail, _say, console
    from allocsim.experiments.waits import load_learning

    load_learning(_say)  # 4-7 s on a cold start: said before it happens
    try:
        from allocsim.agents.runfiles import read_config

        read_config(model)  # not a run folder: one line now, before the next wait
        _say(f"exporting {model}: loading the model, tracing it to ONNX ...")  # 2-5 s: onnx, load, trace
        from allocsim.agents.export import export_run

        path = export_run(model, out)
    except ValueError as err:
        raise _fail(str(err)) from None
    except OSError as err:
        raise _fail(f"cannot write {out}: {err.strerror or err}") from None
    console.print(f"exported {model} -> {path} ({path.stat().st_size:,} bytes)", highlight=False,
                  soft_wrap=True)  # a path is never folded mid-name


def infer_command(
    model: Annotated[
        Path, typer.Option(help="exported policy (.onnx), or pretrained:<algo> for the one shipped",
                           metavar="FILE.onnx|pretrained:ALGO")
    ],
    state: Annotated[Path, typer.Option(help="JSON state: period, dc, locations (docs/deployment.md)")],
    scenario: Annotated[
        str | None,
        typer.Option(help="preset or YAML; refused unless the model was exported for it. With it, the "
                          "scenario's guardrails and DC rule apply, as in the env"),
    ] = None,
) -> None:
    """One decision: read a JSON state, print the integer allocation as JSON."""
    from allocsim.agents.inference import OnnxPolicy
    from allocsim.agents.pretrained import resolve_shipped
    from allocsim.experiments.cli import _compile_first, _fail, _load

    try:
        model = resolve_shipped(model, scenario) or model
    except ValueError as err:
        raise _fail(str(err)) from None
    if model.suffix != ".onnx":
        raise _fail(f"{model}: infer takes an exported .onnx policy (run allocsim export first)")
    if not model.is_file():
        raise _fail(f"{model}: no such file")
    try:
        policy = OnnxPolicy.load(model)
    except ValueError as err:
        raise _fail(str(err)) from None
    if scenario is not None:
        loaded = _load(scenario)
        _compile_first(loaded)  # the guardrails run the simulator's code
        want, got = policy.card.scenario_hash, loaded.content_hash()
        if want != got and policy.card.any_network:  # shared across locations: this network's card
            from allocsim.agents.export import card_on_network

            try:
                policy = policy.with_card(card_on_network(policy.card, loaded))
            except ValueError as err:
                raise _fail(f"{model}: {err}") from None
        elif want != got:
            raise _fail(
                f"{model} was exported for scenario {policy.card.scenario!r} (hash {want}); "
                f"{scenario} has hash {got}: a different network or different parameters"
            )
    try:
        text = state.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise _fail(f"{state}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise _fail(f"{state}: not UTF-8 text (byte {err.start})") from None
    try:
        data = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as err:
        raise _fail(f"{state}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except RecursionError:
        raise _fail(f"{state}: not a state (JSON nested too deeply)") from None
    except ValueError as err:  # _bounded_int
        raise _fail(f"{state}: {err}") from None
    try:
        decision = policy.decide(data, None if scenario is None else loaded)
    except ValueError as err:  # StateError
        raise _fail(f"{state}: {err}") from None
    typer.echo(json.dumps(decision, indent=2))


def _bounded_int(text: str) -> int:
    """A JSON integer; ValueError for one of more digits than any state quantity has (and Python parses)."""
    if len(text.lstrip("-")) > 20:
        raise ValueError(f"an integer of {len(text.lstrip('-')):,} digits; quantities are at most 1e12")
    return int(text)


def state_command(
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    seed: Annotated[int, typer.Option(min=0, max=MAX_SEED, help="episode (demand) seed")] = 40000,
    period: Annotated[
        int, typer.Option(min=0, max=MAX_PERIODS, help="the state at the start of this period")
    ] = 0,
    policy: Annotated[str, typer.Option(help="rule set that plays the periods before")] = "proportional",
) -> None:
    """Print the JSON state an episode is in: an example input for allocsim infer."""
    from allocsim.envs.allocation_env import AllocationEnv
    from allocsim.experiments.cli import _compile_first, _fail, _load
    from allocsim.experiments.planning_state import state_after

    loaded = _load(scenario)
    _compile_first(loaded)  # a first run compiles for minutes: said on stderr, not in the JSON
    env = AllocationEnv(loaded)
    try:
        state = state_after(env, seed, period, policy)
    except (TypeError, ValueError) as err:
        raise _fail(str(err)) from None
    typer.echo(json.dumps(state, indent=2))
