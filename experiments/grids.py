"""Search grids of the heuristics' parameters, as data, one entry per registry name.

A rule class that offers a ``param_grid()`` classmethod supplies its own grid and
takes precedence over the table here; one that offers ``scenario_grid(net)`` adds the
parameters that matter only on some scenarios (priority's ``ship_known_due`` where a
contracted channel's advance notice covers a lead time), when the scenario is given; where
the policy places the supplier orders, every rule that orders by the shared rule also
searches its order stop (``ORDER_STOP_GRID``).
Every key must be a field of the rule's ``Params`` model; combinations that model
rejects (e.g. ``min_days > max_days``) are skipped. ``random`` and ``hold`` have
nothing to tune. The user replaces a parameter's values with ``--grid name=lo:hi:n``
(``n`` evenly spaced values from ``lo`` to ``hi``) or ``--grid name=v1,v2,...``
(``parse_grid_option``); a winner on the edge of its range is named by
``edge_warnings``. A rule's ``holdback`` share is searched coarsely with the others,
then refined around the winner in steps of 1/32 (``holdback_refinement``), so every
whole-unit level up to 32 units on hand can be reached (a Littlewood protection level of 7 of 10 units, say).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import annotated_types
from pydantic import ValidationError

from allocsim.baselines.common import HOLDBACK_GRID, HoldbackParams
from allocsim.baselines.registry import POLICIES, rule_names

if TYPE_CHECKING:
    from allocsim.envs.scenario import Scenario

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
#: ``order_stop_periods`` values searched where the policy places the supplier orders (0: no stop)
ORDER_STOP_GRID = (0.0, 8.0, 10.0, 12.0, 14.0)
#: Steps of the holdback refinement (exact in float32, so the action carries them as is).
HOLDBACK_STEP = 1.0 / 32
#: Values of a ``--grid`` range at most (the product of all ranges is what runs).
MAX_GRID_VALUES = 101


def tunable_policies() -> list[str]:
    """Registry names that have a grid (here or via ``param_grid()``)."""
    return [n for n in sorted(POLICIES) if n in PARAM_GRIDS or hasattr(POLICIES[n], "param_grid")]


def tunable_rules() -> list[str]:
    """The tunable rule sets the benchmark runs by default (``tune --policy all``; the presets ship
    their tuned parameters); a slow policy that is not a rule (``NOT_RULES``) is tuned by name only."""
    rules = set(rule_names())
    return [n for n in tunable_policies() if n in rules]


def searches_holdback(name: str, holdback: bool) -> bool:
    """Whether rule ``name`` searches ``holdback``: it has ``HoldbackParams``, the scenario the decision."""
    params_model = getattr(POLICIES.get(name), "Params", None)
    return holdback and isinstance(params_model, type) and issubclass(params_model, HoldbackParams)


def searches_order_stop(name: str, scenario: Scenario) -> bool:
    """Whether rule ``name`` searches ``order_stop_periods``: the policy places the supplier orders and
    the rule places them by the shared order-up-to rule (``RulePolicy.ORDERS_BY_RULE``; not ``sp-mpc``)."""
    orders_by_rule = getattr(POLICIES[name], "ORDERS_BY_RULE", False)
    return scenario.supplier.replenishment.rule == "policy" and orders_by_rule


def grid_for(
    name: str, holdback: bool = False, overrides: Mapping[str, Sequence[float]] | None = None,
    scenario: Scenario | None = None,
) -> Grid:
    """The grid of policy ``name``; ValueError naming the tunable policies when it has none.

    ``holdback`` (the scenario has ``timing.holdback_decision``): a rule with ``HoldbackParams``
    also searches ``holdback`` over ``HOLDBACK_GRID``. ``scenario``: a rule's ``scenario_grid``
    parameters for it are added. ``overrides`` replace (or add) parameters' values; one that is
    not a parameter of the rule is refused, naming those that are."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; valid: {', '.join(sorted(POLICIES))}")
    factory = POLICIES[name]
    grid = factory.param_grid() if hasattr(factory, "param_grid") else PARAM_GRIDS.get(name)
    if not grid:
        tunable = ", ".join(tunable_policies())
        raise ValueError(f"policy {name!r} has no parameters to tune; tunable: {tunable}")
    if scenario is not None and hasattr(factory, "scenario_grid"):
        from allocsim.envs.network import Network

        grid = {**grid, **factory.scenario_grid(Network.compile(scenario))}
    if scenario is not None and searches_order_stop(name, scenario):
        grid = {**grid, "order_stop_periods": list(ORDER_STOP_GRID)}
    if searches_holdback(name, holdback):
        grid = {**grid, "holdback": list(HOLDBACK_GRID)}
    fields = getattr(factory, "Params").model_fields  # noqa: B009 (every tunable rule has one)
    for key in overrides or {}:
        if key not in fields or (key == "holdback" and "holdback" not in grid):
            valid = ", ".join(k for k in fields if k != "holdback" or "holdback" in grid)
            raise ValueError(f"--grid: {name} has no parameter {key[:40]!r}; its parameters: {valid}")
    flags = {k for k, f in fields.items() if f.annotation is bool}  # --grid gives numbers: 0/1 to a flag
    given = {k: [bool(x) for x in v] if k in flags else list(v) for k, v in (overrides or {}).items()}
    grid = {**grid, **given}
    return {k: list(v) for k, v in grid.items()}


def parse_grid_option(text: str) -> tuple[str, list[float]]:
    """``name=lo:hi:n`` (``n`` evenly spaced values, ends included) or ``name=v1,v2,...``;
    ValueError naming the option and the expected form."""
    form = "expected name=lo:hi:n or name=v1,v2,..."
    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise ValueError(f"--grid {text[:60]!r}: {form}")
    try:
        if ":" in values:
            lo, hi, n = values.split(":")
            low, high, count = float(lo), float(hi), int(n)
            if not 1 <= count <= MAX_GRID_VALUES or not low <= high:
                raise ValueError
            found = [low] if count == 1 else [low + (high - low) * i / (count - 1) for i in range(count)]
        else:
            found = [float(v) for v in values.split(",")]
    except ValueError:
        raise ValueError(f"--grid {text[:60]!r}: {form} (lo <= hi, 1 <= n <= {MAX_GRID_VALUES})") from None
    if not all(math.isfinite(v) for v in found) or len(found) > MAX_GRID_VALUES:
        raise ValueError(f"--grid {text[:60]!r}: finite numbers, at most {MAX_GRID_VALUES} of them")
    return name.strip(), sorted(set(round(v, 12) for v in found))


def grid_points(name: str, holdback: bool = False,
                overrides: Mapping[str, Sequence[float]] | None = None) -> list[dict[str, Any]]:
    """Every valid combination of the grid of ``name`` (``grid_for``), in grid order."""
    return valid_points(name, grid_for(name, holdback, overrides))


def valid_points(name: str, grid: Grid) -> list[dict[str, Any]]:
    """The combinations of ``grid`` the rule's ``Params`` accepts, in grid order."""
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


#: Holdback shares the refinement adds at most (those within a coarse step of the winner).
REFINE_POINTS = 14


def holdback_refinement(best: float, searched: Sequence[float]) -> list[float]:
    """Holdback shares within a coarse step (0.25) of ``best``, in steps of ``HOLDBACK_STEP``, not yet in
    ``searched`` (at most ``REFINE_POINTS``): a share of 10 units on hand reaches 7 (0.6875 -> 6.875
    -> 7), which the coarse 0.75 (7.5 -> 8) cannot."""
    steps = round(0.25 / HOLDBACK_STEP)
    values = (best + i * HOLDBACK_STEP for i in range(-steps + 1, steps))
    return [v for v in values if 0.0 <= v <= 1.0 and v not in searched]


def _bounds(name: str, key: str) -> tuple[float, float]:
    """The range the rule's ``Params`` allows ``key`` (-inf/inf where it sets none)."""
    low, high = -math.inf, math.inf
    field = POLICIES[name].Params.model_fields.get(key)
    for rule in getattr(field, "metadata", []):
        if isinstance(rule, annotated_types.Ge | annotated_types.Gt):
            low = float(getattr(rule, "ge", getattr(rule, "gt", low)))
        if isinstance(rule, annotated_types.Le | annotated_types.Lt):
            high = float(getattr(rule, "le", getattr(rule, "lt", high)))
    return low, high


def edge_warnings(name: str, grid: Grid, best: Mapping[str, Any]) -> list[str]:
    """One line per parameter whose best value is the lowest or highest searched while the rule
    allows beyond it: the optimum may lie outside the grid."""
    lines = []
    for key, values in grid.items():
        numbers = sorted(v for v in values if isinstance(v, int | float) and not isinstance(v, bool))
        if len(numbers) < 2 or key not in best or isinstance(best[key], bool):
            continue
        low, high = _bounds(name, key)
        value = best[key]
        span, n = numbers[-1] - numbers[0], 2 * len(numbers) - 1
        if value == numbers[0] and value > low:
            side, wider = "lowest", f"{key}={max(value - span, low):g}:{numbers[-1]:g}:{n}"
        elif value == numbers[-1] and value < high:
            side, wider = "highest", f"{key}={numbers[0]:g}:{min(value + span, high):g}:{n}"
        else:
            continue
        lines.append(f"warning: {name}: best {key} = {value:g} is the {side} value searched "
                     f"({numbers[0]:g}..{numbers[-1]:g}); the optimum may lie beyond: widen it, "
                     f"e.g. --grid {wider}")
    return lines
