"""The CLI's ``--json`` output: strict JSON (NaN and inf as null) on stdout, one implementation."""

from __future__ import annotations

import json
import math
from typing import Any

import typer


def json_safe(value: Any) -> Any:
    """NaN and inf become null so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def echo_json(value: Any) -> None:
    """``value`` as indented strict JSON on stdout."""
    typer.echo(json.dumps(json_safe(value), indent=2))
