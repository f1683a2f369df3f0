"""Compare KPI dicts against the golden results recorded by ``record.py``.

Reusable outside the golden test (e.g. to check a new engine): ``load_golden(preset)``
reads a preset's file and ``kpi_mismatches(expected, actual)`` lists every difference.
Rules: the unit KPIs (``UNIT_KEYS``, at any depth) must be equal exactly; every other
number within ``REL_TOL`` relative (``ABS_TOL`` absolute near zero); NaN where NaN was
recorded (stored as ``null`` in the files); the same keys at every level.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).resolve().parent
UNIT_KEYS = frozenset({"units_requested", "units_fulfilled", "lost_sales_units", "backorder_units"})
REL_TOL = 1e-9
ABS_TOL = 1e-6


def golden_path(preset: str) -> Path:
    """The golden file of ``preset``."""
    return GOLDEN_DIR / f"{preset}.json"


def recorded_presets() -> list[str]:
    """Presets that have a golden file, sorted."""
    return sorted(p.stem for p in GOLDEN_DIR.glob("*.json"))


@functools.cache
def load_golden(preset: str) -> dict[str, Any]:
    """A preset's golden file as recorded (NaN KPIs are ``None``); cached, do not mutate."""
    with golden_path(preset).open(encoding="utf-8") as fh:
        return json.load(fh)


def _is_nan(value: Any) -> bool:
    """True for a recorded NaN: ``None`` (as stored) or a float NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_number(value: Any) -> bool:
    """True for a real number (numpy scalars included), but not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _compare_leaf(key: str, expected: Any, actual: Any, rel_tol: float, abs_tol: float) -> str | None:
    """Why ``actual`` differs from ``expected`` for KPI ``key``, or None when they match."""
    if _is_nan(expected) or _is_nan(actual):
        if _is_nan(expected) and _is_nan(actual):
            return None
        return f"expected {expected!r} (None = NaN), got {actual!r}"
    if not (_is_number(expected) and _is_number(actual)):
        return None if expected == actual else f"expected {expected!r}, got {actual!r}"
    want, got = float(expected), float(actual)
    if key in UNIT_KEYS:
        return None if want == got else f"units differ: expected {want!r}, got {got!r} ({got - want:+g})"
    if math.isclose(want, got, rel_tol=rel_tol, abs_tol=abs_tol):
        return None
    rel = abs(got - want) / max(abs(want), abs(got))
    return f"expected {want!r}, got {got!r} (diff {got - want:+.3e}, rel {rel:.2e})"


def kpi_mismatches(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    *,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    path: str = "",
) -> list[str]:
    """Every difference between two KPI dicts (nested breakdowns included), as ``path: reason`` lines."""
    out: list[str] = []
    missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    if missing:
        out.append(f"{path or '<top>'}: missing keys {missing}")
    if extra:
        out.append(f"{path or '<top>'}: unexpected keys {extra}")
    if not missing and not extra and list(expected) != list(actual):  # tables and CSVs list them in order
        out.append(f"{path or '<top>'}: keys in another order {list(actual)}")
    for key in expected:
        if key not in actual:
            continue
        want, got, where = expected[key], actual[key], f"{path}{key}"
        if isinstance(want, Mapping) or isinstance(got, Mapping):
            if isinstance(want, Mapping) and isinstance(got, Mapping):
                out += kpi_mismatches(want, got, rel_tol=rel_tol, abs_tol=abs_tol, path=f"{where}.")
            else:
                out.append(f"{where}: expected {type(want).__name__}, got {type(got).__name__}")
            continue
        reason = _compare_leaf(str(key), want, got, rel_tol, abs_tol)
        if reason:
            out.append(f"{where}: {reason}")
    return out


def assert_kpis_match(
    expected: Mapping[str, Any], actual: Mapping[str, Any], label: str = "", limit: int = 25
) -> None:
    """Raise AssertionError listing (up to ``limit``) differences between two KPI dicts."""
    problems = kpi_mismatches(expected, actual)
    if problems:
        shown = "\n  ".join(problems[:limit])
        more = f"\n  ... and {len(problems) - limit} more" if len(problems) > limit else ""
        raise AssertionError(f"{label}: {len(problems)} KPI mismatch(es) against golden:\n  {shown}{more}")
