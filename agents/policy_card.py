"""What an exported policy needs to know of its scenario, stored as ONNX ``metadata_props``.

The card travels inside ``policy.onnx``: names of SKUs, locations and lanes (the
order of every axis), the observation and action layouts, the scales that turn
units into observation values, and where the policy came from (scenario hash,
allocsim version, algorithm, training run). The torch-free runtime builds
observations and decodes decisions from it alone; it imports numpy and json only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, get_args, get_origin, get_type_hints

from allocsim.agents.shared_layout import ObservationParts
from allocsim.core.error_text import shorten
from allocsim.core.limits import MAX_PERIODS, MAX_RATE, MAX_UNITS

PREFIX = "allocsim."
CARD_KEY = PREFIX + "card"
#: The scenario schema's timing modes (``allocsim.envs.scenario.timing.MODES``; a test keeps them equal),
#: named here so the torch-free runtime reads cards without importing the simulator.
TIMING_MODES = ("aggregated", "events")
# Flat keys an inspector (netron, onnx.load) shows without parsing the card.
SUMMARY_KEYS = ("scenario", "scenario_hash", "version", "algo", "run_id")
#: The observation blocks, in order, that ``allocsim.agents.state_input`` knows how to build.
OBSERVATION_BLOCKS = ("dc_on_hand", "dc_available", "dc_on_order", "on_hand", "inbound", "forecast_now",
                      "forecast_horizon", "open_orders", "backlog", "avg_age", "calendar")
#: Opt-in blocks (``observation:`` in the scenario) the runtime also builds, appended in this order.
OPTIONAL_BLOCKS = ("known_orders",)


#: The action blocks each action mode may have (allocsim.envs.action_modes), as sets of names.
ACTION_BLOCKS = {
    "shares": ({"allocation", "transfers", "orders"}, {"allocation", "transfers", "orders", "holdback"}),
    "targets": ({"cover", "safety", "keep"}, {"cover", "safety", "keep", "order_cover"}),
    "residual": ({"cover", "safety", "keep"}, {"cover", "safety", "keep", "order_cover"}),
}


class CardError(ValueError):
    """An ONNX file without a readable allocsim card."""


def _fits(value: Any, kind: Any) -> bool:
    """True when JSON ``value`` has the type ``kind`` (str, int, float, list[...], dict[str, ...], Any)."""
    if kind is Any:
        return True
    origin = get_origin(kind)
    if origin is list:
        (item,) = get_args(kind)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict:
        key, item = get_args(kind)
        return isinstance(value, dict) and all(_fits(k, key) and _fits(v, item) for k, v in value.items())
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _type_name(kind: Any) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind).replace("typing.", "")


@dataclass(frozen=True)
class PolicyCard:
    """The scenario facts and provenance an exported policy carries (all plain JSON data)."""

    scenario: str
    scenario_hash: str
    version: str
    algo: str
    run_id: str
    skus: list[str]
    locations: list[str]
    lanes: list[list[str]]  # [source, target] per transfer lane
    periods: int
    forecast_horizon: int
    age_buckets: int
    obs_clip: float
    week: float
    safety_reserve: list[int]  # (S,)
    dc_scale: list[float]  # (S,) a week of expected demand at the DC
    location_scale: list[list[float]]  # (L, S) a week of expected demand per location
    max_order: list[int]  # (S,) policy replenishment, 0 when the policy does not order
    observation_layout: list[dict[str, Any]]  # blocks: name, shape, start, stop
    action_layout: dict[str, list[int]]  # block name -> [start, stop]
    # the action mode (allocsim.envs.action_modes); cards of allocsim before action modes are "shares"
    action_mode: str = "shares"
    # targets/residual: per action entry centre, half, low, high (allocsim.core.order_up_to.TargetRanges)
    target_ranges: dict[str, list[float]] = field(default_factory=dict)
    supplier_lead: list[float] = field(default_factory=lambda: [0.0, 0.0])  # (shortest, mean) periods
    # targets/residual: no supplier order in the last this many periods (the centre rule's order stop;
    # allocsim.core.order_up_to.stop_lead); cards before it: 0
    order_stop_periods: float = 0.0
    # the timing mode of the scenario it was trained in; cards of allocsim before timing modes: aggregated
    timing: str = "aggregated"
    # a policy shared across locations (allocsim.agents.shared_net): its graph takes the observation of any
    # network of these SKUs and channels; residual mode: the base-stock parameters it adjusts around
    any_network: bool = False
    channels: list[str] = field(default_factory=list)  # (C,) names; empty in cards before any_network
    residual_around: dict[str, float] = field(default_factory=dict)
    # the demand stream it was trained and evaluated on (allocsim.envs.demand_stream); older cards: 1
    demand_stream: int = 1
    # what a decided holdback counts as on the shelf today (allocsim.core.same_day): the lead time from the
    # DC per location (L,), and per lane its lead time, approval threshold (units, capped at MAX_UNITS: no
    # approval) and approval delay (K,); empty in cards before same-day holdbacks (on hand only)
    lead_time: list[int] = field(default_factory=list)
    lane_lead: list[int] = field(default_factory=list)
    lane_threshold: list[int] = field(default_factory=list)
    lane_delay: list[int] = field(default_factory=list)

    @property
    def n_skus(self) -> int:
        return len(self.skus)

    @property
    def n_locations(self) -> int:
        return len(self.locations)

    @property
    def observation_size(self) -> int:
        return int(self.observation_layout[-1]["stop"])

    @property
    def known_orders_depth(self) -> int:
        """Periods (t, t + 1, ...) of the opt-in ``known_orders`` block; 0 when the policy has none."""
        block = next((b for b in self.observation_layout if b["name"] == "known_orders"), None)
        return int(block["shape"][0]) if block is not None else 0

    @property
    def action_size(self) -> int:
        return int(max(stop for _, stop in self.action_layout.values()))

    def lane_pairs(self) -> list[tuple[int, int]]:
        """Each transfer lane as (source, target) location indices."""
        index = {name: i for i, name in enumerate(self.locations)}
        return [(index[a], index[b]) for a, b in self.lanes]

    def network_mismatch(self, skus: list[str], channels: list[str],
                         lanes: list[tuple[int, int]]) -> str | None:
        """Why this policy cannot run on a network of ``skus``, ``channels`` and ``lanes`` (location index
        pairs), or None when it can: the same names in the same order, and the same lanes."""
        if not self.any_network:
            return "was exported for one network only (a policy shared across locations runs on others)"
        if skus != self.skus or (self.channels and channels != self.channels):
            return (f"runs on networks of SKUs {self.skus} and channels {self.channels}; this one has SKUs "
                    f"{shorten(str(skus), 120)} and channels {shorten(str(channels), 80)}")
        if lanes != self.lane_pairs():
            return f"was trained with the transfer lanes {self.lanes}; this network has other lanes"
        return None

    def fits_width(self, width: int) -> bool:
        """True when an observation of ``width`` values is one this policy takes: its network's, or
        (``any_network``) that of any number of locations of its SKUs."""
        if not self.any_network:
            return width == self.observation_size
        try:
            ObservationParts.of(self.observation_layout, self.n_locations, self.n_skus).locations(width)
        except ValueError:
            return False
        return True

    def to_metadata(self) -> dict[str, str]:
        """ONNX ``metadata_props``: the whole card as JSON, plus flat summary keys."""
        card = asdict(self)
        return {CARD_KEY: json.dumps(card, sort_keys=True)} | {
            PREFIX + key: str(card[key]) for key in SUMMARY_KEYS
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], source: str = "model") -> PolicyCard:
        """The card of an exported policy; CardError naming ``source`` when it is missing or broken."""
        text = metadata.get(CARD_KEY)
        if text is None:
            raise CardError(f"{source}: not an allocsim policy (no {CARD_KEY} in its metadata)")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CardError(f"{source}: {CARD_KEY} is not valid JSON ({err.msg})") from None
        except (ValueError, RecursionError):  # an integer of thousands of digits, or deep nesting
            raise CardError(f"{source}: {CARD_KEY} is not a card (too large or too deeply nested)") from None
        if not isinstance(data, dict):
            raise CardError(f"{source}: {CARD_KEY} must be a JSON object")
        names = {f.name for f in fields(cls)} & set(data)
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise CardError(f"{source}: {CARD_KEY} lacks {', '.join(missing)}")
        for name, kind in get_type_hints(cls).items():
            if name in data and not _fits(data[name], kind):
                got = type(data[name]).__name__
                raise CardError(f"{source}: {CARD_KEY}.{name} must be {_type_name(kind)} (got a {got})")
        card = cls(**{k: data[k] for k in names})
        card.check(source)
        return card

    def check(self, source: str) -> None:
        """CardError unless the layouts are ones this runtime can build and decode."""
        if self.timing not in TIMING_MODES:
            raise CardError(f"{source}: {CARD_KEY}.timing must be one of {', '.join(TIMING_MODES)} "
                            f"(got {shorten(self.timing, 40)!r})")
        try:
            blocks = [str(b["name"]) for b in self.observation_layout]
            sizes = [int(b["stop"]) - int(b["start"]) for b in self.observation_layout]
            actions = {k: (int(a), int(b)) for k, (a, b) in self.action_layout.items()}
        except (TypeError, KeyError, ValueError):
            raise CardError(f"{source}: {CARD_KEY} has a malformed layout") from None
        if blocks[:len(OBSERVATION_BLOCKS)] != list(OBSERVATION_BLOCKS) \
                or blocks[len(OBSERVATION_BLOCKS):] not in ([], list(OPTIONAL_BLOCKS)):
            raise CardError(f"{source}: observation blocks {blocks} are not the ones this runtime builds "
                            f"(exported by allocsim {self.version})")
        if min(sizes) < 0 or set(actions) not in ACTION_BLOCKS.get(self.action_mode, ()):
            raise CardError(f"{source}: {CARD_KEY} has a malformed layout (action mode {self.action_mode!r})")
        if self.action_mode != "shares":
            sizes_ok = set(self.target_ranges) == {"centre", "half", "low", "high"} and all(
                len(v) == self.action_size for v in self.target_ranges.values())
            if not sizes_ok or len(self.supplier_lead) != 2:
                raise CardError(f"{source}: {CARD_KEY}.target_ranges must give centre, half, low and high "
                                f"for each of the {self.action_size} action entries")
        self._check_shapes(source)

    def _check_shapes(self, source: str) -> None:
        """CardError unless every per-SKU and per-location list has the length its names give."""
        n_s, n_l = self.n_skus, self.n_locations
        for block in self.observation_layout[len(OBSERVATION_BLOCKS):]:  # known_orders: (D, L, S)
            shape = block.get("shape")
            if not (isinstance(shape, list) and len(shape) == 3 and shape[1:] == [n_l, n_s]
                    and isinstance(shape[0], int) and 1 <= shape[0] <= MAX_PERIODS
                    and int(block["stop"]) - int(block["start"]) == shape[0] * n_l * n_s):
                raise CardError(f"{source}: {CARD_KEY} block {block['name']} must have shape [periods, "
                                f"{n_l}, {n_s}] and as many entries")
        lengths = {"safety_reserve": (self.safety_reserve, n_s), "dc_scale": (self.dc_scale, n_s),
                   "max_order": (self.max_order, n_s), "location_scale": (self.location_scale, n_l)}
        for name, (values, want) in lengths.items():
            if len(values) != want:
                raise CardError(f"{source}: {CARD_KEY}.{name} has {len(values)} entries, expected {want}")
        if any(len(row) != n_s for row in self.location_scale):
            raise CardError(f"{source}: {CARD_KEY}.location_scale rows must have {n_s} entries")
        if any(len(lane) != 2 or not set(lane) <= set(self.locations) for lane in self.lanes):
            raise CardError(f"{source}: {CARD_KEY}.lanes must be [from, to] pairs of its locations")
        same_day = {"lead_time": (self.lead_time, n_l), "lane_lead": (self.lane_lead, len(self.lanes)),
                    "lane_threshold": (self.lane_threshold, len(self.lanes)),
                    "lane_delay": (self.lane_delay, len(self.lanes))}
        if self.lead_time:  # all or none (an older card): what a holdback counts as on the shelf today
            for name, (values, want) in same_day.items():
                if len(values) != want:
                    raise CardError(f"{source}: {CARD_KEY}.{name} has {len(values)} entries, expected {want}")
        self._check_ranges(source)

    def _check_ranges(self, source: str) -> None:
        """CardError naming the first number outside the range the runtime can use (a card is data
        from a file: a 400-digit period count or a zero scale must fail here, in one line)."""
        counts = {"periods": self.periods, "forecast_horizon": self.forecast_horizon,
                  "age_buckets": self.age_buckets}
        for name, value in counts.items():
            if not 1 <= value <= MAX_PERIODS:
                raise CardError(f"{source}: {CARD_KEY}.{name} must be in 1..{MAX_PERIODS:,}, "
                                f"got {_num(value)}")
        positive = {"obs_clip": [self.obs_clip], "week": [self.week], "dc_scale": self.dc_scale,
                    "location_scale": [v for row in self.location_scale for v in row]}
        for name, values in positive.items():
            bad = next((v for v in values if not 0 < v <= MAX_RATE), None)
            if bad is not None:
                raise CardError(f"{source}: {CARD_KEY}.{name} must be in (0, {MAX_RATE:g}], got {_num(bad)}")
        units = {"safety_reserve": self.safety_reserve, "max_order": self.max_order,
                 "lane_threshold": self.lane_threshold}
        for name, ints in units.items():
            bad_int = next((v for v in ints if not 0 <= v <= MAX_UNITS), None)
            if bad_int is not None:
                raise CardError(f"{source}: {CARD_KEY}.{name} must be in 0..{MAX_UNITS:,}, "
                                f"got {_num(bad_int)}")
        for name, ints in {"lead_time": self.lead_time, "lane_lead": self.lane_lead,
                           "lane_delay": self.lane_delay}.items():
            bad_int = next((v for v in ints if not 0 <= v <= MAX_PERIODS), None)
            if bad_int is not None:
                raise CardError(f"{source}: {CARD_KEY}.{name} must be in 0..{MAX_PERIODS:,} periods, "
                                f"got {_num(bad_int)}")
        if any(not 0 <= v <= MAX_PERIODS for v in self.supplier_lead):
            raise CardError(f"{source}: {CARD_KEY}.supplier_lead must be in 0..{MAX_PERIODS} periods")
        if not 0 <= self.order_stop_periods <= MAX_PERIODS:
            raise CardError(f"{source}: {CARD_KEY}.order_stop_periods must be in 0..{MAX_PERIODS} periods, "
                            f"got {_num(self.order_stop_periods)}")
        ranges = self.target_ranges
        if ranges:
            triples = zip(ranges["low"], ranges["high"], ranges["half"], strict=True)
            for i, (low, high, half) in enumerate(triples):
                if not (low <= high and half >= 0):
                    raise CardError(f"{source}: {CARD_KEY}.target_ranges entry {i}: low {_num(low)} above "
                                    f"high {_num(high)} or a negative half {_num(half)}")


def _num(value: float) -> str:
    """A card number for a message: its digits when short, its digit count when huge."""
    text = str(value)
    return text if len(text) <= 24 else f"a number of {len(text):,} digits"
