"""``allocsim scenarios`` and ``allocsim demand-history``: the presets, and a planner's starting files.

Registered on the main app by ``register(app)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("scenarios")(scenarios_command)
    app.command("demand-history")(demand_history_command)


def _count(n: int, noun: str) -> str:
    """``1 SKU``, ``2 SKUs``: a count with its noun in the right number."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def scenarios_command(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    show: Annotated[
        str | None,
        typer.Option(help="print this preset as a commented YAML to start your own from "
                          "(allocsim scenarios --show retail-small > my-network.yaml)"),
    ] = None,
) -> None:
    """List the preset scenarios, or print one as a YAML file to edit (--show)."""
    import shutil
    import textwrap

    from rich.markup import escape

    from allocsim.envs.scenario import ScenarioError, load_scenario, preset_names
    from allocsim.experiments.cli import _fail, console

    if show is not None:
        from allocsim.experiments.starting_files import commented_preset

        try:
            typer.echo(commented_preset(show), nl=False)
        except ScenarioError as err:
            raise _fail(str(err)) from None
        return
    rows = []
    for name in preset_names():
        sc = load_scenario(name)
        rows.append({
            "name": name, "periods": sc.periods, "skus": len(sc.skus),
            "locations": len(sc.locations), "channels": [c.name for c in sc.channels],
            "description": " ".join(sc.description.split()),
        })
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        # the width now (COLUMNS, else the terminal's, else 80): the shared console fixed its own when built
        width = shutil.get_terminal_size().columns
        # the heading folds between words with its rest indented four, never back at column 0
        heading = textwrap.fill(
            f"{r['name']}  {_count(r['periods'], 'period')}, {_count(r['skus'], 'SKU')}, "
            f"{_count(r['locations'], 'location')}, channels: {', '.join(r['channels'])}",
            width=max(width, 40), subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
        console.print(f"[bold]{r['name']}[/bold]{escape(heading[len(r['name']):])}", highlight=False,
                      soft_wrap=True)
        # indented as a block, so a description folded at the terminal's width stays under its name
        block = textwrap.fill(r["description"], width=max(width, 40), initial_indent="  ",
                              subsequent_indent="  ")
        console.print(f"{block}\n", markup=False, highlight=False, soft_wrap=True)


def demand_history_command(
    out: Annotated[Path, typer.Option(help="CSV file to write (period,sku,location,channel,quantity)")],
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    seed: Annotated[int, typer.Option(min=0, help="episode (demand) seed the history is sampled from")] = 0,
) -> None:
    """Write one sampled demand history over the scenario's horizon, in the format --demand-csv replays."""
    from allocsim.core.atomic_files import write_text
    from allocsim.experiments.cli import _fail, _load, console
    from allocsim.experiments.starting_files import sampled_history_csv

    loaded = _load(scenario)
    text = sampled_history_csv(loaded, seed)
    try:
        path = write_text(out, text)
    except OSError as err:
        raise _fail(f"cannot write {out}: {err.strerror or err}") from None
    rows = text.count("\n") - 1
    console.print(f"{rows:,} rows ({loaded.periods} periods of {loaded.name}, seed {seed}) written to {path}",
                  highlight=False, soft_wrap=True)
