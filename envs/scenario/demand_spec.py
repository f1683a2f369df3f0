"""Demand, forecast, guardrail and objective settings of a scenario."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from allocsim.envs.scenario.entities import Name, NonNegFloat, NonNegInt, PosFloat, StrictModel

WILDCARD = "*"


class Promotion(StrictModel):
    """Demand is multiplied by ``lift`` in periods ``start..end`` (inclusive)."""

    start: NonNegInt
    end: NonNegInt
    lift: PosFloat

    @model_validator(mode="after")
    def _ordered(self) -> Promotion:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must be >= start ({self.start})")
        return self


class DemandStream(StrictModel):
    """Demand for every (SKU, location, channel) it matches; ``*`` matches all.

    Later streams override earlier ones for the lanes they both match, so a file
    can state a default and then the exceptions.
    """

    sku: Name | Literal["*"] = WILDCARD
    location: Name | Literal["*"] = WILDCARD
    channel: Name | Literal["*"] = WILDCARD
    distribution: Literal["poisson", "negative_binomial", "normal"] = "poisson"
    mean: NonNegFloat = Field(description="units per period before seasonality and scaling")
    dispersion: PosFloat = Field(
        default=2.0, description="negative binomial shape k: variance = mean + mean^2 / k"
    )
    cv: NonNegFloat = Field(default=0.3, description="normal: standard deviation / mean")
    weekly: list[PosFloat] | None = Field(
        default=None, min_length=7, max_length=7, description="multipliers Monday..Sunday"
    )
    annual_amplitude: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    annual_peak: NonNegInt = Field(default=0, description="period of the annual peak")
    trend: float = Field(default=0.0, ge=-0.05, le=0.05, description="growth per period")
    promotions: list[Promotion] = Field(default_factory=list)


class DemandSpec(StrictModel):
    """All demand of a scenario: parametric streams or a CSV history to replay."""

    streams: list[DemandStream] = Field(default_factory=list)
    regional_scale: dict[Name, PosFloat] = Field(default_factory=dict)
    csv: str | None = Field(
        default=None,
        description="history to replay (columns period, sku, location, channel, quantity); "
        "a relative path is taken from the scenario file's folder",
    )
    resample: Literal["block", "none"] = Field(
        default="block",
        description="how seeds vary a csv history: block (moving-block bootstrap, weekday kept, "
        "allocsim.envs.history_resample) or none (every seed replays the history as it is)",
    )
    block_length: int = Field(default=7, ge=1, le=365, description="periods per bootstrap block")

    @model_serializer(mode="wrap")
    def _replay_settings_only_with_a_csv(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Resampling settings do nothing without a history, so they are not part of the content
        (nor of ``Scenario.content_hash``) then."""
        data: dict[str, Any] = handler(self)
        if self.csv is None:
            data.pop("resample", None)
            data.pop("block_length", None)
        return data

    @model_validator(mode="after")
    def _has_source(self) -> DemandSpec:
        if not self.streams and self.csv is None:
            raise ValueError("give demand streams or a csv history")
        return self


class ForecastSpec(StrictModel):
    """The noisy forecast the policy sees: the true mean times lognormal noise."""

    noise_cv: NonNegFloat = 0.2
    bias: float = Field(default=0.0, ge=-0.9, le=1.0, description="relative bias, 0.1 = +10%")
    horizon: Annotated[int, Field(ge=1, le=28)] = 7


class Guardrails(StrictModel):
    """Business rules that trim decisions; every trim is written to the decision log."""

    working_capital_cap: PosFloat | None = Field(
        default=None, description="max inventory value at cost in the network, incl. on order"
    )
    enforce_capacity: bool = True
    max_days_of_supply: PosFloat | None = Field(
        default=None,
        description="aging goal: no location is sent stock beyond this many periods of forecast",
    )
    aging_goal: NonNegInt = Field(
        default=14, description="age (periods) beyond which stock counts as aged"
    )


class Objective(StrictModel):
    """Reward = scale x sum of weight x component (see ``allocsim.envs.reward``)."""

    weights: dict[
        Literal["profit", "lost_units", "inventory_value", "aged_units"], float
    ] = Field(default_factory=lambda: {"profit": 1.0})
    scale: PosFloat = 1.0
