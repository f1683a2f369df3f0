"""The sweep file: which scenarios, policies and seeds ``allocsim sweep`` crosses.

A YAML mapping (read with ``yaml.safe_load``, validated with ``extra="forbid"``)::

    scenarios: [retail-small, tiny-dp, my-network.yaml]   # presets or paths (relative to this file)
    policies:
      - proportional                          # a rule set with its default parameters
      - {name: base-stock, params: tuned}     # tuned/<scenario>/base-stock.json, else packaged
      - {name: min-max, params: {min_days: 2, max_days: 6}, label: min-max-2-6}
    seeds: {start: 40000, count: 20}          # or a list: [1, 2, 3]
    warm_up: 0                                # periods dropped from the KPIs (optional)
    tuned_dir: my-tuned                       # relative to this file (optional; default: tuned/ of
                                              # the working folder, where allocsim tune writes)

Every policy entry has a ``kind`` (default ``rule``) naming a registered policy
kind (``experiments.sweep_kinds``); the kind validates the rest of the entry.
Errors come back as one ``SweepConfigError`` line naming the file and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationError,
    field_validator,
)

from allocsim.core.limits import MAX_PERIODS
from allocsim.envs.scenario.errors import format_validation_error
from allocsim.envs.scenario.yaml_file import read_yaml
from allocsim.experiments.option_limits import MAX_EPISODES, MAX_SEED

_UNION_TAG = re.compile(r"^(list\[.*\]|str|int|dict\[.*\]|seed-list|seed-range)$")


Seed = Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)]


class SweepConfigError(ValueError):
    """A sweep file that cannot be used; the message is one line naming what and where."""


class SeedRange(BaseModel):
    """Seeds ``start .. start + count - 1``."""

    model_config = ConfigDict(extra="forbid")

    start: Seed
    count: Annotated[int, Strict(), Field(ge=1, le=MAX_EPISODES)]


Seeds = Annotated[
    Annotated[list[Seed], Tag("seed-list")] | Annotated[SeedRange, Tag("seed-range")],
    Discriminator(lambda v: "seed-list" if isinstance(v, list) else "seed-range"),
]


class SweepConfig(BaseModel):
    """A grid of scenarios x policies x seeds (see the module docstring for the YAML form)."""

    model_config = ConfigDict(extra="forbid")

    scenarios: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        min_length=1, max_length=1000, description="preset names or scenario YAML paths"
    )
    policies: list[str | dict[str, Any]] = Field(
        min_length=1, max_length=1000, description="rule names, or mappings with a 'kind' (default 'rule')"
    )
    seeds: Seeds = Field(description="a list of seeds, or {start, count}")
    warm_up: Annotated[int, Strict(), Field(ge=0, le=MAX_PERIODS)] = Field(
        default=0, description="periods dropped from the KPIs at the start"
    )
    tuned_dir: str | None = Field(
        default=None, min_length=1, max_length=4096,
        description="folder of tuned parameters, relative to the sweep file [default: tuned/ in the "
                    "working folder, where allocsim tune writes]",
    )

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int] | SeedRange) -> list[int] | SeedRange:
        if isinstance(seeds, list):
            if not seeds:
                raise ValueError("give at least one seed")
            if len(seeds) > MAX_EPISODES:
                raise ValueError(f"at most {MAX_EPISODES:,} seeds, got {len(seeds):,}")
            if len(set(seeds)) != len(seeds):
                raise ValueError("seeds must be distinct")
        return seeds

    @field_validator("scenarios")
    @classmethod
    def _unique(cls, scenarios: list[str]) -> list[str]:
        if len(set(scenarios)) != len(scenarios):
            raise ValueError("scenarios must be distinct")
        return scenarios

    def tuned_folder(self, sweep_file: str | Path) -> Path:
        """Where tuned parameters are read: ``tuned_dir`` relative to the sweep file's folder."""
        if self.tuned_dir is None:
            return Path("tuned")
        path = Path(self.tuned_dir)
        return path if path.is_absolute() else Path(sweep_file).parent / path

    def seed_list(self) -> list[int]:
        if isinstance(self.seeds, SeedRange):
            return list(range(self.seeds.start, self.seeds.start + self.seeds.count))
        return list(self.seeds)


def format_error(err: ValidationError, source: str, prefix: str = "") -> str:
    """The first error of ``err`` as ``source: field.path: message (got value)``, values shortened."""
    return format_validation_error(err, source, prefix, tags=_UNION_TAG)


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
    return parse_config(read_yaml(path, SweepConfigError), str(path))
