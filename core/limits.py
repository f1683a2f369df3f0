"""Upper bounds of every scenario number, chosen so int64 and float64 arithmetic holds over a horizon.

Why these values (docs/scenarios.md lists them per field):

- A unit count in one field is at most ``MAX_UNITS`` (1e9), and no SKU can ever have more
  than ``MAX_NETWORK_UNITS`` (1e12 < 2**40, the engine's "unlimited" marker) units enter the
  network over a whole horizon (initial stock + inbound schedule + periods x orders). So
  every stock count fits int64 with room to spare, and the largest-remainder split of at most
  1e12 units over at most ``MAX_LOCATIONS + 1`` destinations is exact in float64 (the rounding
  error of all products together stays below one unit), so no decision ever hands out a unit
  more than is available.
- The expected demand of a lane in one period (mean x weekly x seasonality x trend x
  promotions x regional scale) is at most ``MAX_RATE`` (1e9); with ``cv <= 10`` and
  ``dispersion >= 0.01`` every draw and every horizon total stays far inside int64.
- Money per unit is at most ``MAX_MONEY`` (1e9); profit sums stay finite in float64.
- Periods are at most ``MAX_PERIODS`` (3650, ten years of days); delays, ages, lead times and
  payment days at most ``MAX_DELAY`` (365), as each one sizes an array axis.
- ``MAX_CELLS`` bounds the largest array (periods x locations x SKUs x channels), so a
  scenario that would exhaust memory is refused before anything is allocated.
"""

from __future__ import annotations

MAX_UNITS = 1_000_000_000
MAX_NETWORK_UNITS = 1_000_000_000_000
MAX_RATE = 1e9
MAX_MONEY = 1e9
MAX_WORKING_CAPITAL = 1e21
MAX_PERIODS = 3650
MAX_DELAY = 365
MAX_LOCATIONS = 1000
MAX_SKUS = 1000
MAX_CHANNELS = 100
MAX_CELLS = 50_000_000
MAX_MULTIPLIER = 1000.0
MAX_WEIGHT = 1e6
MAX_PRIORITY = 1000
MAX_CV = 10.0
MAX_NOISE_CV = 2.0
MIN_DISPERSION = 0.01
MAX_DISPERSION = 1e6
#: slots of a channel's time-of-day arrival profile (events mode)
MAX_PROFILE_SLOTS = 1440
#: customer orders of one period in events mode (each is a SimPy event)
MAX_ORDERS_PER_PERIOD = 10_000_000
