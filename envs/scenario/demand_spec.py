"""Demand, forecast, guardrail and objective settings of a scenario."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, SerializerFunctionWrapHandler, Strict, model_serializer, model_validator

from allocsim.envs.scenario.entities import Name, StrictModel
from allocsim.envs.scenario.numbers import (
    Amplitude,
    Bias,
    Capital,
    Cv,
    DaysOfSupply,
    Delay,
    DemandRate,
    Dispersion,
    Multiplier,
    NoiseCv,
    Period,
    Scale,
    StrictBool,
    Trend,
    Weight,
)

WILDCARD = "*"


class Promotion(StrictModel):
    """Demand is multiplied by ``lift`` in periods ``start..end`` (inclusive)."""

    start: Period
    end: Period
    lift: Multiplier

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
    mean: DemandRate = Field(description="units per period before seasonality and scaling")
    dispersion: Dispersion = Field(
        default=2.0, description="negative binomial shape k: variance = mean + mean^2 / k"
    )
    cv: Cv = Field(default=0.3, description="normal: standard deviation / mean")
    weekly: list[Multiplier] | None = Field(
        default=None, min_length=7, max_length=7, description="multipliers Monday..Sunday"
    )
    annual_amplitude: Amplitude = 0.0
    annual_peak: Period = Field(default=0, description="period of the annual peak")
    trend: Trend = Field(default=0.0, description="growth per period")
    promotions: list[Promotion] = Field(default_factory=list)

    def time_profile(self, n_periods: int) -> NDArray[np.float64]:
        """The multiplier of ``mean`` in each of ``n_periods`` periods (weekly, annual, trend, promotions)."""
        t = np.arange(n_periods, dtype=np.float64)
        profile = np.ones(n_periods)
        if self.weekly is not None:
            profile *= np.asarray(self.weekly)[np.arange(n_periods) % 7]
        if self.annual_amplitude:
            profile *= 1.0 + self.annual_amplitude * np.cos(2 * np.pi * (t - self.annual_peak) / 365.0)
        if self.trend:
            profile *= (1.0 + self.trend) ** t
        for promo in self.promotions:
            profile[promo.start : promo.end + 1] *= promo.lift
        return profile


class DemandSpec(StrictModel):
    """All demand of a scenario: parametric streams or a CSV history to replay."""

    streams: list[DemandStream] = Field(default_factory=list)
    regional_scale: dict[Name, Multiplier] = Field(default_factory=dict)
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

    noise_cv: NoiseCv = 0.2
    bias: Bias = Field(default=0.0, description="relative bias, 0.1 = +10%")
    horizon: Annotated[int, Strict(), Field(ge=1, le=28)] = 7


class Guardrails(StrictModel):
    """Business rules that trim decisions; every trim is written to the decision log."""

    working_capital_cap: Capital | None = Field(
        default=None, description="max inventory value at cost in the network, incl. on order"
    )
    enforce_capacity: StrictBool = True
    max_days_of_supply: DaysOfSupply | None = Field(
        default=None,
        description="aging goal: no location is sent stock beyond this many periods of forecast",
    )
    aging_goal: Delay = Field(
        default=14, description="age (periods) beyond which stock counts as aged"
    )


class Objective(StrictModel):
    """Reward = scale x sum of weight x component (see ``allocsim.envs.reward``)."""

    weights: dict[
        Literal["profit", "lost_units", "inventory_value", "aged_units"], Weight
    ] = Field(default_factory=lambda: {"profit": 1.0})
    scale: Scale = 1.0
