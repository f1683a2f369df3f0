"""One builder for the hand-made scenarios of the tests: the defaults they share, the rest as given.

``scenario_data("name", periods, skus=..., channels=..., locations=..., **sections)``: SKUs,
channels and locations given by name get the shared defaults (unit cost 1, price 2 in every
channel, no holding cost; a location serves every channel); a mapping is taken as it is. Other
top-level sections (``dc``, ``supplier``, ``demand``, ``timing``, ``transfers``, ...) are passed
through; ``demand`` defaults to one Poisson stream of mean 1. Import it as ``from scenario_kit
import ...`` (``tests/`` is on the path through its conftest).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from allocsim.envs.scenario import Scenario, scenario_from_dict

Row = str | dict[str, Any]


def scenario_data(name: str, periods: int, *, skus: Sequence[Row] = ("w",), channels: Sequence[Row] = ("c",),
                  locations: Sequence[Row] = ("shop",), unit_cost: float = 1.0, price: float = 2.0,
                  holding_cost: float = 0.0, **sections: Any) -> dict[str, Any]:
    """The scenario mapping: named rows with the shared defaults, mappings as given, sections passed on."""
    channel_rows = [c if isinstance(c, dict) else {"name": c} for c in channels]
    served = [c["name"] for c in channel_rows]
    sku_rows = [s if isinstance(s, dict) else
                {"name": s, "unit_cost": unit_cost, "price": dict.fromkeys(served, price),
                 "holding_cost": holding_cost} for s in skus]
    location_rows = [loc if isinstance(loc, dict) else {"name": loc, "channels": served} for loc in locations]
    return {"name": name, "periods": periods, "skus": sku_rows, "channels": channel_rows,
            "locations": location_rows, "demand": {"streams": [{"mean": 1.0}]}, **sections}


def build_scenario(name: str, periods: int, **kwargs: Any) -> Scenario:
    """``scenario_data`` validated into a Scenario (ScenarioError on bad input)."""
    return scenario_from_dict(scenario_data(name, periods, **kwargs))
