"""Scenario entities: SKUs, channels, supplier, DC, locations, transfer lanes.

Every model is pydantic v2 with ``extra="forbid"`` so that a misspelt key is an
error naming its path, never a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from allocsim.envs.scenario.numbers import (
    Delay,
    Discount,
    Money,
    Period,
    PosDelay,
    PosMoney,
    PosUnits,
    Priority,
    Share,
    UnitRate,
    Units,
)

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
#: a name that becomes part of a file name: no leading dot, so never ``..``
FileName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")]


class StrictModel(BaseModel):
    """Base for every scenario model: unknown keys are errors, models are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MarkdownStep(StrictModel):
    """From ``age`` periods on, units sell at ``(1 - discount)`` of the channel price."""

    age: Delay
    discount: Discount


class Sku(StrictModel):
    """A stock-keeping unit: costs, prices by channel, shelf life, markdowns, salvage."""

    name: Name
    unit_cost: PosMoney
    price: dict[Name, PosMoney] = Field(description="selling price per unit by channel name")
    holding_cost: Money = Field(description="cost per unit on hand per period")
    shelf_life: PosDelay | None = Field(
        default=None, description="periods after network receipt at which a unit expires"
    )
    markdown: list[MarkdownStep] = Field(default_factory=list)
    salvage_value: Money = Field(
        default=0.0, description="net realisable value per unit left at horizon end"
    )

    @model_validator(mode="after")
    def _markdown_ages_increase(self) -> Sku:
        ages = [step.age for step in self.markdown]
        if ages != sorted(set(ages)):
            raise ValueError("markdown ages must be strictly increasing")
        return self


class Contract(StrictModel):
    """Contracted allocation rights: up to ``rights`` units per SKU per period are owed."""

    rights: dict[Name, UnitRate] = Field(description="units per period by SKU name")
    penalty_per_unit_short: Money


class Channel(StrictModel):
    """A channel or customer class: what unmet demand becomes, its priority and terms."""

    name: Name
    unmet: Literal["lost", "backorder", "mix"] = "lost"
    backorder_fraction: Share = Field(
        default=0.5, description="share of unmet units backordered when unmet is 'mix'"
    )
    patience: PosDelay = Field(
        default=3, description="periods a backorder waits before it becomes a lost sale"
    )
    shortage_penalty: Money = Field(default=0.0, description="per unit lost")
    backorder_cost: Money = Field(default=0.0, description="per unit per period waiting")
    priority: Priority = Field(default=0, description="higher is served first at a location")
    receivable_days: Delay = 0
    advance_notice: Delay = Field(
        default=0, description="periods ahead at which this channel's orders are known"
    )
    contract: Contract | None = None


class FixedLeadTime(StrictModel):
    """A lead time that never varies."""

    kind: Literal["fixed"] = "fixed"
    periods: Delay

    @property
    def max_periods(self) -> int:
        return self.periods


class UniformLeadTime(StrictModel):
    """A whole-period lead time drawn uniformly from ``low..high`` per order."""

    kind: Literal["uniform"]
    low: Delay
    high: Delay

    @model_validator(mode="after")
    def _ordered(self) -> UniformLeadTime:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    @property
    def max_periods(self) -> int:
        return self.high


LeadTime = Annotated[FixedLeadTime | UniformLeadTime, Field(discriminator="kind")]


class PlannedReceipt(StrictModel):
    """A receipt at the DC known in advance (inbound schedule)."""

    period: Period
    sku: Name
    quantity: Units


class NoReplenishment(StrictModel):
    """Only the inbound schedule brings stock: the classic scarce-allocation setting."""

    rule: Literal["none"] = "none"


class BaseStockReplenishment(StrictModel):
    """Order up to ``level`` per SKU on the DC inventory position every period."""

    rule: Literal["base-stock"]
    level: dict[Name, Units]


class MinMaxReplenishment(StrictModel):
    """(s, S): when the DC inventory position is at or below ``min``, order up to ``max``."""

    rule: Literal["min-max"]
    min: dict[Name, Units]
    max: dict[Name, Units]

    @model_validator(mode="after")
    def _min_below_max(self) -> MinMaxReplenishment:
        for sku, low in self.min.items():
            high = self.max.get(sku)
            if high is None:
                raise ValueError(f"sku {sku!r} has a min but no max")
            if high < low:
                raise ValueError(f"sku {sku!r}: max ({high}) must be >= min ({low})")
        return self


class PolicyReplenishment(StrictModel):
    """The policy decides the order: one action entry per SKU, scaled to ``max_order``."""

    rule: Literal["policy"]
    max_order: dict[Name, Units]


Replenishment = Annotated[
    NoReplenishment | BaseStockReplenishment | MinMaxReplenishment | PolicyReplenishment,
    Field(discriminator="rule"),
]


class Supplier(StrictModel):
    """The upstream source of stock for the DC."""

    name: Name = "supplier"
    lead_time: LeadTime = Field(default_factory=lambda: FixedLeadTime(periods=2))
    capacity_per_period: dict[Name, Units] = Field(
        default_factory=dict, description="max units ordered per period by SKU (absent: no cap)"
    )
    payable_days: Delay = 30
    inbound_schedule: list[PlannedReceipt] = Field(default_factory=list)
    replenishment: Replenishment = Field(default_factory=NoReplenishment)


class DistributionCentre(StrictModel):
    """The allocation node; available-to-allocate = on hand - safety reserve."""

    name: Name = "DC"
    initial_stock: dict[Name, Units] = Field(default_factory=dict)
    safety_reserve: dict[Name, Units] = Field(
        default_factory=dict, description="units per SKU committed and not allocatable"
    )
    holding_cost: dict[Name, Money] = Field(
        default_factory=dict, description="cost per unit on hand per period here, by SKU (absent: the SKU's)"
    )


class Location(StrictModel):
    """A store, e-commerce fulfilment centre or wholesale point fed by the DC."""

    name: Name
    kind: Literal["store", "ecommerce", "wholesale"] = "store"
    region: Name = "default"
    channels: list[Name] = Field(min_length=1)
    capacity: PosUnits | None = Field(default=None, description="max units on hand plus inbound")
    lead_time: Delay = Field(default=1, description="periods from DC dispatch to receipt")
    shipping_cost: Money = Field(default=0.0, description="per unit shipped from the DC")
    initial_stock: dict[Name, Units] = Field(default_factory=dict)
    holding_cost: dict[Name, Money] = Field(
        default_factory=dict, description="cost per unit on hand per period here, by SKU (absent: the SKU's)"
    )


class TransferLane(StrictModel):
    """A feasible lateral move between two locations."""

    source: Name = Field(alias="from")
    target: Name = Field(alias="to")
    lead_time: Delay = 1
    cost_per_unit: Money = 0.0
    approval_threshold: Units | None = Field(
        default=None, description="units per SKU above which the move waits for approval"
    )
    approval_delay: Delay = Field(default=1, description="periods an approval takes")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
