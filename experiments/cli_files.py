"""``allocsim demand-history``: a sampled demand history as CSV (registered by ``register(app)``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("demand-history")(demand_history_command)


def demand_history_command(
    out: Annotated[Path, typer.Option(help="CSV file to write (period,sku,location,channel,quantity)")],
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    seed: Annotated[int, typer.Option(min=0, help="episode (demand) seed the history is sampled from")] = 0,
) -> None:
    """Write one sampled demand history over the scenario's horizon, in the format --demand-csv replays."""
    from allocsim.experiments.cli import _fail, _load, console
    from allocsim.experiments.files import write_text
    from allocsim.experiments.starting_files import sampled_history_csv

    loaded = _load(scenario)
    text = sampled_history_csv(loaded, seed)
    try:
        path = write_text(out, text)
    except OSError as err:
        raise _fail(f"cannot write {out}: {err.strerror or err}") from None
    rows = text.count("\n") - 1
    console.print(f"{rows:,} rows ({loaded.periods} periods of {loaded.name}, seed {seed}) written to {path}",
                  highlight=False)
