"""The ``allocsim`` command: a thin layer over the Python API.

Exit codes: 0 on success, 2 on bad input with one line on stderr naming what is wrong.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from allocsim.baselines.registry import policy_names
from allocsim.envs.demand import DemandCsvError
from allocsim.envs.scenario import ScenarioError, load_scenario, preset_names

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
HEADLINE = ("profit", "fill_rate", "revenue", "gross_margin", "holding_cost", "shortage_penalty",
            "lost_sales_units", "avg_inventory_value", "avg_age", "contract_attainment")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _json_safe(value: Any) -> Any:
    """NaN and inf become null so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


@app.command()
def scenarios(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List the preset scenarios."""
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
        console.print(
            f"[bold]{r['name']}[/bold]  {r['periods']} periods, {r['skus']} SKUs, "
            f"{r['locations']} locations, channels: {', '.join(r['channels'])}"
        )
        console.print(f"  {r['description']}\n", highlight=False)


@app.command()
def simulate(
    scenario: Annotated[str, typer.Option(help="preset name or path to a scenario YAML")] = "retail-small",
    policy: Annotated[str, typer.Option(help=f"one of: {', '.join(policy_names())}")] = "random",
    episodes: Annotated[int, typer.Option(min=1, help="number of episodes")] = 5,
    seed: Annotated[int, typer.Option(min=0, help="first seed; episodes use seed, seed+1, ...")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Run one policy on a scenario and print its KPIs."""
    from allocsim.experiments.evaluation import simulate as run

    if policy not in policy_names():
        raise _fail(f"unknown policy {policy!r}; valid: {', '.join(policy_names())}")
    try:
        result = run(scenario, policy, episodes, seed)
    except (ScenarioError, DemandCsvError) as err:
        raise _fail(str(err)) from None
    if as_json:
        typer.echo(json.dumps(_json_safe(result), indent=2))
        return
    table = Table(title=f"{result['scenario']} · {policy} · {episodes} episode(s) from seed {seed}")
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    for key in HEADLINE:
        table.add_row(key, f"{result['summary'][key]:,.2f}")
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
