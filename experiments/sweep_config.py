"""The sweep file: which scenarios, policies and seeds ``allocsim sweep`` crosses.

A YAML mapping (read with ``yaml.safe_load``, validated with ``extra="forbid"``)::

    scenarios: [retail-small, tiny-dp, my-network.yaml]   # presets or paths (relative to this file)
    policies:
      - proportional                          # a rule set with its default parameters
      - {name: base-stock, params: tuned}     # tuned/<scenario>/base-stock.json, else packaged
      - {name: min-max, params: {min_days: 2, max_days: 6}, label: min-max-2-6}
    seeds: {start: 40000, count: 20}          # or a list: [1, 2, 3]
    warm_up: 0                                # periods dropped from the KPIs (optional)
    tuned_dir: tuned                          # where "tuned" parameters are read (optional)

Every policy entry has a ``kind`` (default ``rule``) naming a registered policy
kind (``experiments.sweep_kinds``); the kind validates the rest of the entry.
Errors come back as one ``SweepConfigError`` line naming the file and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

_UNION_TAG = re.compile(r"^(constrained-\w+|literal\[.*\]|function-\w+\[.*\]|lax-or-strict\[.*\]|list\[.*\]|"
                        r"str|int|dict\[.*\]|seed-list|seed-range)$")


class SweepConfigError(ValueError):
    """A sweep file that cannot be used; the message is one line naming what and where."""


class SeedRange(BaseModel):
    """Seeds ``start .. start + count - 1``."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0)
    count: int = Field(ge=1, le=1_000_000)


Seeds = Annotated[
    Annotated[list[int], Tag("seed-list")] | Annotated[SeedRange, Tag("seed-range")],
    Discriminator(lambda v: "seed-list" if isinstance(v, list) else "seed-range"),
]


class SweepConfig(BaseModel):
    """A grid of scenarios x policies x seeds (see the module docstring for the YAML form)."""

    model_config = ConfigDict(extra="forbid")

    scenarios: list[str] = Field(min_length=1, description="preset names or scenario YAML paths")
    policies: list[str | dict[str, Any]] = Field(
        min_length=1, description="rule names, or mappings with a 'kind' (default 'rule')"
    )
    seeds: Seeds = Field(description="a list of seeds, or {start, count}")
    warm_up: int = Field(default=0, ge=0, description="periods dropped from the KPIs at the start")
    tuned_dir: str = Field(default="tuned", description="folder of tuned parameters (allocsim tune)")

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int] | SeedRange) -> list[int] | SeedRange:
        if isinstance(seeds, list):
            if not seeds:
                raise ValueError("give at least one seed")
            if min(seeds) < 0:
                raise ValueError("seeds must be >= 0")
            if len(set(seeds)) != len(seeds):
                raise ValueError("seeds must be distinct")
        return seeds

    @field_validator("scenarios")
    @classmethod
    def _unique(cls, scenarios: list[str]) -> list[str]:
        if len(set(scenarios)) != len(scenarios):
            raise ValueError("scenarios must be distinct")
        return scenarios

    def seed_list(self) -> list[int]:
        if isinstance(self.seeds, SeedRange):
            return list(range(self.seeds.start, self.seeds.start + self.seeds.count))
        return list(self.seeds)


def format_error(err: ValidationError, source: str, prefix: str = "") -> str:
    """The first error of ``err`` as ``source: field.path: message (got value)``."""
    first = err.errors()[0]
    parts = [str(p) for p in first["loc"] if not _UNION_TAG.match(str(p))]
    path = ".".join([prefix, *parts] if prefix else parts)
    message = first["msg"].removeprefix("Value error, ")
    bad = first.get("input")
    plain = path and not isinstance(bad, dict | list) and first["type"] != "missing"
    shown = f" (got {bad!r})" if plain else ""
    more = len(err.errors()) - 1
    tail = f" [+{more} more error(s)]" if more else ""
    return f"{source}: {path + ': ' if path else ''}{message}{shown}{tail}"


def parse_config(data: Any, source: str = "sweep") -> SweepConfig:
    """Validate a plain mapping; SweepConfigError (one line) on bad input."""
    if not isinstance(data, dict):
        raise SweepConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as err:
        raise SweepConfigError(format_error(err, source)) from None


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep YAML file; SweepConfigError (one line) on anything wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SweepConfigError(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise SweepConfigError(f"{path}: {problem}{where}") from None
    return parse_config(data, str(path))
