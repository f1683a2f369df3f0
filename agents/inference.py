"""The torch-free runtime: run an exported ``policy.onnx`` with numpy and onnxruntime only.

``OnnxPolicy.load(path)`` reads the graph and its card (``allocsim.agents.policy_card``).
``predict(obs)`` has the stable-baselines3 predictor interface, so the evaluator,
the benchmark and sweeps run an ONNX file like any rule or trained model;
``decide(state)`` goes from a JSON-like structured state (``allocsim.agents.state_input``)
to whole units per location, SKU, lane and order.

The graph takes raw observations (normalisation is inside it) and returns the
clipped deterministic ``action`` and the decoded fractions ``allocation`` (B, S, L+1),
``transfers`` (B, K, S), ``orders`` (B, S) and ``holdback`` (B, L, S; files exported before
the holdback decision lack it). Whole units come from
``allocsim.core.unit_decode``, the very functions the compiled engine runs.
Nothing here unpickles: an ONNX file is data, not code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from allocsim.agents.policy_card import PolicyCard
from allocsim.agents.state_input import PlanningState, observation, parse_state
from allocsim.core.order_up_to import (
    TargetRanges,
    inventory_position,
    stop_lead,
    supplier_order_share,
    target_allocation,
)
from allocsim.core.same_day import holdback_base
from allocsim.core.unit_decode import holdback_units, largest_remainder_row, policy_order, transfer_units

OUTPUTS = ("action", "allocation", "transfers", "orders", "holdback")
#: the outputs of files exported before the holdback decision (still read: no holdback)
OUTPUTS_BEFORE_HOLDBACK = OUTPUTS[:4]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Decision:
    """Whole units the policy asks for in one state (before the scenario's guardrails)."""

    period: int
    allocation: IntArray  # (L, S) units shipped from the DC to each location
    keep_at_dc: IntArray  # (S,)
    transfers: IntArray  # (K, S)
    orders: IntArray  # (S,) supplier orders (0 unless the policy orders)
    holdback: IntArray | None = None  # (L, S) units held back this period (timing.holdback_decision)

    def to_json(self, card: PolicyCard) -> dict[str, Any]:
        """Named JSON: allocation by location and SKU; only lanes that move stock are listed;
        ``holdback`` by location and SKU when the policy decides one."""
        named: dict[str, Any] = {
            "period": self.period,
            "allocation": {
                loc: dict(zip(card.skus, map(int, row), strict=True))
                for loc, row in zip(card.locations, self.allocation, strict=True)
            },
            "keep_at_dc": dict(zip(card.skus, map(int, self.keep_at_dc), strict=True)),
            "transfers": [
                {"from": card.lanes[k][0], "to": card.lanes[k][1], "sku": card.skus[s],
                 "units": int(self.transfers[k, s])}
                for k, s in zip(*np.nonzero(self.transfers), strict=True)
            ],
            "orders": dict(zip(card.skus, map(int, self.orders), strict=True)),
        }
        if self.holdback is not None:
            named["holdback"] = {loc: dict(zip(card.skus, map(int, row), strict=True))
                                 for loc, row in zip(card.locations, self.holdback, strict=True)}
        return named


class OnnxPolicy:
    """An exported allocsim policy, with the stable-baselines3 predictor interface."""

    def __init__(self, session: ort.InferenceSession, card: PolicyCard, name: str = "onnx") -> None:
        self.session = session
        self.card = card
        self.name = name
        self._input = session.get_inputs()[0].name

    @classmethod
    def load(cls, path: str | Path, threads: int = 1) -> OnnxPolicy:
        """Open ``path``; ValueError naming the file when it is not an allocsim ONNX policy."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ValueError(f"{path}: {err.strerror or err}") from None
        policy = cls.from_bytes(data, str(path), threads)
        policy.name = f"onnx:{path.stem}"
        return policy

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "onnx", threads: int = 1) -> OnnxPolicy:
        """From the bytes of an exported file (e.g. shipped to a sweep worker)."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            detail = " ".join(str(err).split())[:200]
            raise ValueError(f"{name}: not a readable ONNX model ({detail})") from None
        card = PolicyCard.from_metadata(session.get_modelmeta().custom_metadata_map, source=name)
        outputs = [o.name for o in session.get_outputs()]
        if outputs not in (list(OUTPUTS), list(OUTPUTS_BEFORE_HOLDBACK)):
            raise ValueError(f"{name}: outputs {outputs}, expected {list(OUTPUTS)}")
        width = session.get_inputs()[0].shape[-1]
        if width != card.observation_size and not (card.any_network and isinstance(width, str)):
            raise ValueError(f"{name}: the graph takes {width} observation values, its card says "
                             f"{card.observation_size}")
        return cls(session, card, name=f"onnx:{name}")

    def _batch(self, observation: Any) -> tuple[NDArray[np.float32], bool]:
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        batch = obs[None, :] if single else obs
        if batch.ndim != 2 or not self.card.fits_width(batch.shape[1]):
            other = " (or that of another network of its SKUs)" if self.card.any_network else ""
            raise ValueError(
                f"observation has shape {obs.shape}, expected ({self.card.observation_size},) or "
                f"(batch, {self.card.observation_size}){other}"
            )
        return batch, single

    def run(self, observation: Any) -> dict[str, NDArray[np.float32]]:
        """All graph outputs for one observation (m,) or a batch (B, m), batch axis kept."""
        batch, _ = self._batch(observation)
        results = self.session.run(None, {self._input: batch})
        return dict(zip(OUTPUTS[: len(results)], results, strict=True))

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[np.float32], None]:
        """The deterministic action in [-1, 1] (the graph has no sampling); shape follows the input."""
        batch, single = self._batch(observation)
        (action,) = self.session.run(["action"], {self._input: batch})
        return (action[0] if single else action), None

    def with_card(self, card: PolicyCard) -> OnnxPolicy:
        """The same graph with another card: a policy shared across locations on another network of its
        SKUs (``allocsim.agents.export.card_on_network`` builds that network's card)."""
        return OnnxPolicy(self.session, card, self.name)

    def fresh(self) -> OnnxPolicy:
        """Stateless: the same policy (interface shared with recurrent learned policies)."""
        return self

    def check_env(self, env: Any) -> None:
        """ValueError when an env's spaces differ from the ones the policy was exported for (a policy
        shared across locations: when the env's SKUs, channels or lanes differ from its card's)."""
        if self.card.any_network:
            net = env.unwrapped.network
            lanes = [(int(a), int(b)) for a, b in zip(net.lane_source, net.lane_target, strict=True)]
            problem = self.card.network_mismatch(list(net.skus), list(net.channels), lanes)
            if problem is not None:
                raise ValueError(f"{self.name} {problem}")
            return
        got_obs, got_act = env.observation_space.shape, env.action_space.shape
        if got_obs != (self.card.observation_size,) or got_act != (self.card.action_size,):
            raise ValueError(
                f"{self.name} takes observations ({self.card.observation_size},) and actions "
                f"({self.card.action_size},); this scenario gives {got_obs} and {got_act}"
            )

    def decide_arrays(self, state: PlanningState) -> Decision:
        """Whole units for a validated state: largest remainder of available stock, as the env does."""
        card = self.card
        out = self.run(observation(state, card))
        if card.action_mode != "shares":
            return self._decide_targets(state, out["action"][0].astype(np.float64))
        fractions = out["allocation"][0].astype(np.float64)  # (S, L + 1)
        available = state.dc_available(card)
        split = np.zeros((card.n_skus, card.n_locations + 1), dtype=np.int64)
        order = np.zeros(card.n_locations + 1, dtype=np.int64)
        for k in range(card.n_skus):
            largest_remainder_row(int(available[k]), fractions[k], split[k], order)
        transfers = np.zeros((len(card.lanes), card.n_skus), dtype=np.int64)
        if card.lanes:
            index = {name: i for i, name in enumerate(card.locations)}
            source = np.array([index[a] for a, _ in card.lanes], dtype=np.int64)
            transfer_units(out["transfers"][0].astype(np.float64), source, state.on_hand, transfers)
        order_share = out["orders"][0].astype(np.float64)
        orders = np.array([policy_order(f, m) for f, m in zip(order_share, card.max_order, strict=True)],
                          dtype=np.int64)
        alloc, keep = split[:, :-1].T.copy(), split[:, -1].copy()
        holdback = None
        if "holdback" in card.action_layout:
            holdback = self.held_back(out["holdback"][0], state, alloc, transfers)
        return Decision(state.period, alloc, keep, transfers, orders, holdback)

    def held_back(self, share: NDArray[Any], state: PlanningState, alloc: IntArray, transfers: IntArray,
                  ) -> IntArray:
        """Units held back (L, S): the decided ``share`` of what is on the shelf today once ``alloc``
        and ``transfers`` are done, the env's rule (``allocsim.core.same_day``); a card without lead
        times (exported before same-day holdbacks) counts the stock on hand only."""
        card = self.card
        base = state.on_hand
        if card.lead_time:
            pairs = np.array(card.lane_pairs(), dtype=np.int64).reshape(-1, 2)
            base = holdback_base(state.on_hand, alloc, transfers, np.array(card.lead_time, dtype=np.int64),
                                 pairs[:, 0], pairs[:, 1], np.array(card.lane_lead, dtype=np.int64),
                                 np.array(card.lane_threshold, dtype=np.int64),
                                 np.array(card.lane_delay, dtype=np.int64))
        fractions = np.asarray(share, dtype=np.float64)
        return np.array([[holdback_units(f, int(units)) for f, units in zip(*row, strict=True)]
                         for row in zip(fractions, base, strict=True)], dtype=np.int64).reshape(base.shape)

    def _decide_targets(self, state: PlanningState, action: NDArray[np.float64]) -> Decision:
        """``targets``/``residual``: order-up-to levels minus positions, rationed to the stock not kept back
        (``allocsim.core.order_up_to``, the env's arithmetic; the guardrails' cuts need the scenario)."""
        card = self.card
        ranges = TargetRanges(**{k: np.asarray(v, dtype=np.float64) for k, v in card.target_ranges.items()})
        params = ranges.parameters(action, card.n_locations, card.n_skus)
        available = state.dc_available(card)
        position = inventory_position(state.on_hand, state.inbound, state.backlog)
        alloc = target_allocation(params, state.forecast, position, available)
        orders = np.zeros(card.n_skus, dtype=np.int64)
        max_order = np.asarray(card.max_order, dtype=np.int64)
        if max_order.any():
            shortest, mean = card.supplier_lead
            share = supplier_order_share(state.forecast, params.order_cover, card.periods - state.period,
                                         stop_lead((int(shortest), float(mean)), card.order_stop_periods),
                                         state.dc_on_hand + state.dc_on_order, max_order)
            units = [policy_order(f, m) for f, m in zip(share, max_order, strict=True)]
            orders = np.array(units, dtype=np.int64)
        transfers = np.zeros((len(card.lanes), card.n_skus), dtype=np.int64)
        return Decision(state.period, alloc, available - alloc.sum(axis=0), transfers, orders)

    def decide(self, state: Any, scenario: Any = None) -> dict[str, Any]:
        """From a JSON-like state (see ``allocsim.agents.state_input``) to named whole units.

        With ``scenario`` (the ``Scenario`` the policy was exported for, or its preset name or
        YAML path, as ``allocsim infer --scenario`` takes it), the units go through the env's own
        compiled decode, guardrails and DC rule included (``allocsim.agents.guarded_decision``;
        this imports the simulator). StateError (a ValueError) naming the path of the first
        problem in ``state``.
        """
        parsed = parse_state(state, self.card)
        if scenario is None:
            return self.decide_arrays(parsed).to_json(self.card)
        if isinstance(scenario, str | Path):
            from allocsim.envs.scenario import load_scenario

            scenario = load_scenario(scenario)
        if scenario.content_hash() != self.card.scenario_hash:
            raise ValueError(f"{self.name} was exported for scenario {self.card.scenario!r} "
                             f"(hash {self.card.scenario_hash}), not {scenario.name!r}")
        from allocsim.agents.guarded_decision import decide_in_world, to_unit_decision

        units = to_unit_decision(decide_in_world(self, parsed, scenario), parsed, self)
        if "holdback" in self.card.action_layout:  # no guardrail trims it; it counts the guarded moves
            share = self.run(observation(parsed, self.card))["holdback"][0]
            units = replace(units, holdback=self.held_back(share, parsed, units.allocation, units.transfers))
        return {**units.to_json(self.card), "guardrails_applied": True}
