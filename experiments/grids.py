"""Search grids of the heuristics' parameters, as data, one entry per registry name.

A rule class that offers a ``param_grid()`` classmethod supplies its own grid and
takes precedence over the table here. Every key must be a field of the rule's
``Params`` model; combinations that model rejects (e.g. ``min_days > max_days``)
are skipped. ``random`` and ``hold`` have nothing to tune.
"""

from __future__ import annotations

import itertools
from typing import Any

from pydantic import ValidationError

from allocsim.baselines.common import HOLDBACK_GRID, HoldbackParams
from allocsim.baselines.registry import POLICIES

Grid = dict[str, list[Any]]

PARAM_GRIDS: dict[str, Grid] = {
    "proportional": {"review_periods": [0.0, 1.0, 2.0, 3.0], "cover_multiplier": [1.0, 1.15, 1.3, 1.5, 1.8]},
    "balanced": {"max_days": [2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 14.0]},
    "priority": {
        "review_periods": [0.0, 1.0, 2.0],
        "safety_factor": [0.5, 1.0, 1.5, 2.0],
        "reserve_periods": [0.0, 1.0, 3.0, 5.0],
    },
    "base-stock": {"review_periods": [0.0, 1.0, 2.0, 3.0], "safety_factor": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]},
    "myopic-lp": {"review_periods": [0.0, 1.0, 2.0, 3.0], "variance_factor": [1.0, 1.5, 2.0, 3.0]},
    "min-max": {"min_days": [1.0, 2.0, 3.0, 4.0, 5.0], "max_days": [3.0, 4.0, 5.0, 7.0, 9.0]},
}


def tunable_policies() -> list[str]:
    """Registry names that have a grid (here or via ``param_grid()``)."""
    return [n for n in sorted(POLICIES) if n in PARAM_GRIDS or hasattr(POLICIES[n], "param_grid")]


def grid_for(name: str, holdback: bool = False) -> Grid:
    """The grid of policy ``name``; ValueError naming the tunable policies when it has none.

    ``holdback`` (the scenario has ``timing.holdback_decision``): a rule with ``HoldbackParams``
    also searches ``holdback`` over ``HOLDBACK_GRID``."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; valid: {', '.join(sorted(POLICIES))}")
    factory = POLICIES[name]
    grid = factory.param_grid() if hasattr(factory, "param_grid") else PARAM_GRIDS.get(name)
    if not grid:
        tunable = ", ".join(tunable_policies())
        raise ValueError(f"policy {name!r} has no parameters to tune; tunable: {tunable}")
    params_model = getattr(factory, "Params", None)
    if holdback and isinstance(params_model, type) and issubclass(params_model, HoldbackParams):
        grid = {**grid, "holdback": list(HOLDBACK_GRID)}
    return {k: list(v) for k, v in grid.items()}


def grid_points(name: str, holdback: bool = False) -> list[dict[str, Any]]:
    """Every valid combination of the grid of ``name`` (``grid_for``), in grid order."""
    grid = grid_for(name, holdback)
    params_model = getattr(POLICIES[name], "Params", None)
    if params_model is not None:
        unknown = sorted(set(grid) - set(params_model.model_fields))
        if unknown:
            raise ValueError(f"grid of {name!r} names unknown parameter(s): {', '.join(unknown)}")
    points = []
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values, strict=True))
        if params_model is not None:
            try:
                params_model(**point)
            except ValidationError:
                continue
        points.append(point)
    return points
