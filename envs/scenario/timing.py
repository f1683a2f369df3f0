"""The ``timing`` block: what happens inside a period (aggregated batch or timed events).

``mode: aggregated`` (the default) is the fast engine's period: all receipts at its start,
the period's demand served in one batch in priority order. ``mode: events`` splits each
lane's aggregated draw into customer orders at random times of the period, books receipts
at their time of day and serves orders first-come-first-served (``allocsim.envs.events``).
``holdbacks`` (nested protection levels) apply in both modes; ``holdback_decision`` lets the
policy set one each period (the action's ``holdback`` block).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from allocsim.core.limits import MAX_PROFILE_SLOTS, MAX_WEIGHT
from allocsim.envs.scenario.entities import Name, StrictModel
from allocsim.envs.scenario.numbers import PosUnits, Units

#: a time of day as a fraction of the period, in [0, 1)
TimeOfDay = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False, strict=True)]
ProfileWeight = Annotated[float, Field(ge=0.0, le=MAX_WEIGHT, allow_inf_nan=False, strict=True)]
MODES = ("aggregated", "events")
Mode = Literal["aggregated", "events"]


class OrderSize(StrictModel):
    """Units per customer order, uniform on ``low..high`` (the last order of a period takes the rest)."""

    low: PosUnits = 1
    high: PosUnits = 1

    @model_validator(mode="after")
    def _ordered(self) -> OrderSize:
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


class ChannelTiming(StrictModel):
    """When a channel's orders arrive and how large they are."""

    profile: list[ProfileWeight] | None = Field(
        default=None, min_length=1, max_length=MAX_PROFILE_SLOTS,
        description="relative arrival intensity over equal slots of the period (e.g. 24 hours); "
                    "absent: uniform",
    )
    order_size: OrderSize = Field(default_factory=OrderSize)

    @model_validator(mode="after")
    def _some_weight(self) -> ChannelTiming:
        if self.profile is not None and sum(self.profile) <= 0:
            raise ValueError("profile: every weight is 0 (at least one must be positive)")
        return self


class Holdback(StrictModel):
    """Nested protection level: ``units`` at ``location`` of ``sku`` are kept for ``channel``
    and every channel of higher priority; lower-priority orders may not take them."""

    channel: Name
    units: Units
    location: Name | Literal["*"] = Field(default="*", description="a location name or '*' (every location)")
    sku: Name | Literal["*"] = Field(default="*", description="a SKU name or '*' (every SKU)")


class HoldbackDecision(StrictModel):
    """The policy decides a holdback each period: per location and SKU, a share of the stock on
    hand at the decision kept for ``channels`` (and every channel of at least their priority);
    channels of lower priority may not take it (the action's ``holdback`` block)."""

    channels: list[Name] = Field(min_length=1, description="the protected (top-priority) channels")


class Timing(StrictModel):
    """Within-period dynamics; the default reproduces the aggregated engine exactly."""

    mode: Mode = "aggregated"
    service: Literal["fcfs", "priority"] = Field(
        default="fcfs", description="events mode: orders first-come-first-served, or in one batch at "
                                    "period end in priority order (equals aggregated mode)")
    channels: dict[Name, ChannelTiming] = Field(default_factory=dict)
    location_arrival: dict[Name, TimeOfDay] = Field(
        default_factory=dict, description="time of day shipments and transfers reach a location")
    supplier_arrival: TimeOfDay = Field(default=0.0, description="time of day supplier receipts reach the DC")
    holdbacks: list[Holdback] = Field(default_factory=list)
    holdback_decision: HoldbackDecision | None = Field(
        default=None, description="absent: holdbacks are static; present: the action has a holdback block")

    @property
    def is_default(self) -> bool:
        return self == Timing()
