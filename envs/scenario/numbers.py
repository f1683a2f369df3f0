"""The bounded, strict number types of the scenario schema (bounds from ``limits``).

Strict: a bool never passes for a number, and a float (``3.0``) never passes for a whole
number. Floats refuse NaN and infinity. Every type has an upper bound, so a value the
arithmetic cannot hold over a whole horizon is refused at the field that holds it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

from allocsim.core.limits import (
    MAX_CV,
    MAX_DELAY,
    MAX_DISPERSION,
    MAX_MONEY,
    MAX_MULTIPLIER,
    MAX_NOISE_CV,
    MAX_PERIODS,
    MAX_PRIORITY,
    MAX_RATE,
    MAX_UNITS,
    MAX_WEIGHT,
    MAX_WORKING_CAPITAL,
    MIN_DISPERSION,
)

StrictBool = Annotated[bool, Strict()]
#: units of stock in one field
Units = Annotated[int, Strict(), Field(ge=0, le=MAX_UNITS)]
PosUnits = Annotated[int, Strict(), Field(ge=1, le=MAX_UNITS)]
#: units per period as a real number (contract rights)
UnitRate = Annotated[float, Strict(), Field(ge=0.0, le=MAX_UNITS, allow_inf_nan=False)]
#: a period index or a horizon length
Period = Annotated[int, Strict(), Field(ge=0, le=MAX_PERIODS)]
Horizon = Annotated[int, Strict(), Field(ge=1, le=MAX_PERIODS)]
#: a delay, lead time, age or number of days (each sizes an array axis)
Delay = Annotated[int, Strict(), Field(ge=0, le=MAX_DELAY)]
PosDelay = Annotated[int, Strict(), Field(ge=1, le=MAX_DELAY)]
DaysOfSupply = Annotated[float, Strict(), Field(gt=0.0, le=MAX_DELAY, allow_inf_nan=False)]
Priority = Annotated[int, Strict(), Field(ge=-MAX_PRIORITY, le=MAX_PRIORITY)]
#: money per unit (costs, prices, penalties)
Money = Annotated[float, Strict(), Field(ge=0.0, le=MAX_MONEY, allow_inf_nan=False)]
PosMoney = Annotated[float, Strict(), Field(gt=0.0, le=MAX_MONEY, allow_inf_nan=False)]
Capital = Annotated[float, Strict(), Field(gt=0.0, le=MAX_WORKING_CAPITAL, allow_inf_nan=False)]
#: shares and discounts
Share = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Discount = Annotated[float, Strict(), Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
#: demand: expected units per period, multipliers, spread
DemandRate = Annotated[float, Strict(), Field(ge=0.0, le=MAX_RATE, allow_inf_nan=False)]
Multiplier = Annotated[float, Strict(), Field(gt=0.0, le=MAX_MULTIPLIER, allow_inf_nan=False)]
Dispersion = Annotated[float, Strict(), Field(ge=MIN_DISPERSION, le=MAX_DISPERSION, allow_inf_nan=False)]
Cv = Annotated[float, Strict(), Field(ge=0.0, le=MAX_CV, allow_inf_nan=False)]
NoiseCv = Annotated[float, Strict(), Field(ge=0.0, le=MAX_NOISE_CV, allow_inf_nan=False)]
Amplitude = Annotated[float, Strict(), Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
Trend = Annotated[float, Strict(), Field(ge=-0.05, le=0.05, allow_inf_nan=False)]
Bias = Annotated[float, Strict(), Field(ge=-0.9, le=1.0, allow_inf_nan=False)]
#: reward weights and scale
Weight = Annotated[float, Strict(), Field(ge=-MAX_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False)]
Scale = Annotated[float, Strict(), Field(gt=0.0, le=MAX_WEIGHT, allow_inf_nan=False)]
