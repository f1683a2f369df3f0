"""A network shared across locations: one set of weights for any number of locations of the same SKUs.

Issue 26 item 2 (after HDPO's symmetry-aware networks). Every location's features (its
(L, S) observation entries, ``allocsim.agents.shared_layout``) go through one encoder; the
encodings are pooled (mean and max) and joined with the network's own features (DC stock,
calendar) into a context. One location head maps each location's encoding and the context to
that location's slice of the action, a network head maps the context to the network's slice
(keep at the DC, supplier orders, safety and keep-back per SKU), a lane head maps the two
ends' encodings and the context to each transfer lane's slice. Permuting the locations
permutes the action's location slices, and the weights do not depend on how many locations
there are: a policy trained on retail-medium runs on a larger network of the same SKUs.

* ``SharedLocationNet``: the actor as a plain ``nn.Module`` (observation -> action mean), for
  PPO here and for other learners (DCL) to reuse; ``SharedCritic`` the value's latent on the
  actor's encoder (shared: one encoder pass per batch, about half the cost of two).
* ``SharedLocationPolicy``: the SB3 ``ActorCriticPolicy`` on top (hyperparameter
  ``policy: shared-locations``; ``allocsim.agents.policies`` registers it).
* ``layout_kwargs(env)``: the ``layout`` keyword it needs, read from the env's layouts.

It takes raw observations (already in weeks of cover): VecNormalize's per-entry statistics
would tie it to one network, so its hyperparameters set ``normalize: {norm_obs: false}``.
The exploration noise (``log_std``) stays SB3's, one per action entry of the training network;
the deterministic policy (and its ONNX export) does not use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from allocsim.agents.shared_layout import BLOCK_RULES, ActionParts, ObservationParts

POLICY_NAME = "shared-locations"
DEFAULT_HIDDEN = (64, 64)
Tensor = torch.Tensor


def layout_kwargs(env: Any) -> dict[str, Any]:
    """The ``layout`` a ``SharedLocationPolicy`` of ``env`` takes: observation and action parts, lanes.

    Plain data (it is rebuilt from the scenario when a run is loaded). ValueError when the env's
    layouts are not ones a shared network can read.
    """
    unwrapped = getattr(env, "unwrapped", env)
    net = unwrapped.network
    obs = ObservationParts.of(unwrapped.observation_layout.describe(), net.n_locations, net.n_skus)
    action = ActionParts.of(unwrapped.action_mode.axes(), net.n_skus)
    lanes = [[int(a), int(b)] for a, b in zip(net.lane_source, net.lane_target, strict=True)]
    return {"layout": {"observation": obs.to_dict(), "action": action.to_list(), "lanes": lanes}}


def _mlp(sizes: Sequence[int], activation: type[nn.Module], last_activation: bool = True) -> nn.Sequential:
    """Linear layers through ``sizes`` with ``activation`` between (and after the last, if asked)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if last_activation or i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class SharedEncoder(nn.Module):
    """Observation -> per-location encodings (B, L, h) and the pooled context (B, 3h)."""

    def __init__(self, obs: ObservationParts, hidden: Sequence[int], activation: type[nn.Module]) -> None:
        super().__init__()
        self.parts = obs
        self.width = int(hidden[-1])
        self.location = _mlp([obs.features, *hidden], activation)
        self.network = _mlp([obs.network, *hidden], activation)

    def split(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """(B, L, blocks x S) location features and (B, head + tail) network features, for any L."""
        p = self.parts
        local = obs[:, p.head: -p.tail] if p.tail else obs[:, p.head:]
        local = local.unflatten(1, (p.blocks, -1, p.skus)).transpose(1, 2).flatten(2)
        network = torch.cat([obs[:, : p.head], obs[:, -p.tail:]], dim=1) if p.tail else obs[:, : p.head]
        return local, network

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        local, network = self.split(obs)
        encoded = self.location(local)
        context = torch.cat([encoded.mean(dim=1), encoded.amax(dim=1), self.network(network)], dim=1)
        return encoded, context


class Head(nn.Module):
    """One hidden layer over several inputs, then the output layer: the hidden layer is a Linear of the
    inputs' concatenation written as a sum of one Linear per input, so the context's share is computed
    once per network and broadcast over the locations (or lanes) instead of once per location."""

    def __init__(self, widths: Sequence[int], hidden: int, out: int, activation: type[nn.Module]) -> None:
        super().__init__()
        self.inputs = nn.ModuleList([nn.Linear(w, hidden, bias=i == 0) for i, w in enumerate(widths)])
        self.activation = activation()
        self.output = nn.Linear(hidden, out)

    def forward(self, *inputs: Tensor) -> Tensor:
        """Inputs of broadcastable leading shapes, e.g. (B, L, h) and (B, 1, 3h)."""
        total = self.inputs[0](inputs[0])
        for layer, x in zip(self.inputs[1:], inputs[1:], strict=True):
            total = total + layer(x)
        return self.output(self.activation(total))


def _destination_block(loc: Tensor, net: Tensor, _lane: Tensor) -> Tensor:
    """(B, S, L + 1): each location's weights, then the DC's (keep) column."""
    return torch.cat([loc, net.unsqueeze(1)], dim=1).transpose(1, 2)


#: Action block axes -> the block (structured, B leading) from its columns of each part:
#: location (B, L, S), network (B, S), lane (B, K, S). Checked against ``ActionParts.index`` on build.
ASSEMBLE: dict[tuple[str, ...], Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    ("location", "sku"): lambda loc, _net, _lane: loc,
    ("sku", "destination"): _destination_block,
    ("lane", "sku"): lambda _loc, _net, lane: lane,
    ("sku",): lambda _loc, net, _lane: net,
}


class SharedLocationNet(nn.Module):
    """The actor: flat observation (B, n) of any network of these SKUs -> action mean (B, a)."""

    def __init__(self, layout: Mapping[str, Any], hidden: Sequence[int] = DEFAULT_HIDDEN,
                 activation: type[nn.Module] = nn.Tanh) -> None:
        super().__init__()
        self.obs_parts = ObservationParts(**layout["observation"])
        self.action_parts = ActionParts(tuple((str(n), tuple(a)) for n, a in layout["action"]),
                                        self.obs_parts.skus)
        h, a = int(hidden[-1]), self.action_parts
        self.encoder = SharedEncoder(self.obs_parts, hidden, activation)
        self.location_head = Head([h, 3 * h], h, max(a.location_width, 1), activation)
        self.network_head = Head([3 * h], h, max(a.network_width, 1), activation)
        self.lane_head = Head([h, h, 3 * h], h, max(a.lane_width, 1), activation)
        self.register_buffer("lanes", torch.zeros((0, 2), dtype=torch.int64))
        self.set_lanes(layout.get("lanes") or [])
        self._check_assembly()

    def set_lanes(self, lanes: Sequence[Sequence[int]]) -> None:
        """Run on a network whose transfer lanes join these locations (source, target) indices."""
        self.lanes = torch.as_tensor(np.asarray(lanes, dtype=np.int64).reshape(-1, 2))

    def output_layers(self) -> list[nn.Linear]:
        """The last layer of each head (initialised small, so the first action is near zero)."""
        return [head.output for head in (self.location_head, self.network_head, self.lane_head)]

    def parts(self, obs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Location (B, L, A_l), network (B, A_g) and lane (B, K, A_k) outputs."""
        return self.parts_from(*self.encoder(obs))

    def parts_from(self, encoded: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``parts`` from the encoder's output (the critic shares it)."""
        beside = context.unsqueeze(1)  # (B, 1, 3h): broadcast over the locations (or lanes)
        loc = self.location_head(encoded, beside)
        net = self.network_head(context)
        if not (self.lanes.shape[0] and self.action_parts.lane_width):
            return loc, net, net[:, :0]  # no lane block (an empty gather would not export)
        ends = (encoded[:, self.lanes[:, 0]], encoded[:, self.lanes[:, 1]], beside)
        return loc, net, self.lane_head(*ends)

    def blocks(self, obs: Tensor) -> dict[str, Tensor]:
        """The action's blocks, structured: e.g. allocation (B, S, L + 1), cover (B, L, S), orders (B, S)."""
        return self.assemble(*self.parts(obs))

    def assemble(self, loc: Tensor, net: Tensor, lane: Tensor) -> dict[str, Tensor]:
        """Each block from its S-column share of each part, in ``ActionParts`` order."""
        n_s, cursor, out = self.obs_parts.skus, [0, 0, 0], {}
        for name, axes in self.action_parts.blocks:
            columns = BLOCK_RULES[axes].columns
            parts = zip((loc, net, lane), cursor, columns, strict=True)
            taken = [src[..., at * n_s: (at + c) * n_s] for src, at, c in parts]
            cursor = [at + c for at, c in zip(cursor, columns, strict=True)]
            out[name] = ASSEMBLE[axes](*taken)
        return out

    def forward(self, obs: Tensor) -> Tensor:
        return self.flat(self.blocks(obs))

    @staticmethod
    def flat(blocks: Mapping[str, Tensor]) -> Tensor:
        """The flat action (B, a) of structured blocks, in order."""
        return torch.cat([block.flatten(1) for block in blocks.values()], dim=1)

    def _check_assembly(self) -> None:
        """ValueError unless ``assemble`` puts every part where ``ActionParts.index`` says (2 locations)."""
        n_l, n_k = 2, int(self.lanes.shape[0])
        index = self.action_parts.index(n_l, n_k)
        as_float = [torch.as_tensor(x, dtype=torch.float64).unsqueeze(0)
                    for x in (index.location, index.network, index.lanes)]
        flat = torch.cat([b.flatten(1) for b in self.assemble(*as_float).values()], dim=1)[0]
        if not torch.equal(flat, torch.arange(self.action_parts.size(n_l, n_k), dtype=torch.float64)):
            raise ValueError("the shared network's action assembly disagrees with the action layout")


class SharedCritic(nn.Module):
    """The value's latent (B, h): the pooled context of an encoder (the actor's, shared) through one layer."""

    def __init__(self, encoder: SharedEncoder, activation: type[nn.Module] = nn.Tanh) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = _mlp([3 * encoder.width, encoder.width], activation)

    def forward(self, obs: Tensor) -> Tensor:
        return self.head(self.encoder(obs)[1])


class SharedExtractor(nn.Module):
    """SB3's ``mlp_extractor``: the actor's output is the action mean itself (``action_net`` is identity);
    actor and critic share the encoder, which runs once when both are asked for."""

    def __init__(self, actor: SharedLocationNet, critic: SharedCritic, action_size: int) -> None:
        super().__init__()
        self.actor, self.critic = actor, critic
        self.latent_dim_pi, self.latent_dim_vf = action_size, int(critic.head[0].out_features)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        encoded, context = self.actor.encoder(features)
        pi = self.actor.flat(self.actor.assemble(*self.actor.parts_from(encoded, context)))
        return pi, self.critic.head(context)

    def forward_actor(self, features: Tensor) -> Tensor:
        return self.actor(features)

    def forward_critic(self, features: Tensor) -> Tensor:
        return self.critic(features)


class SharedLocationPolicy(ActorCriticPolicy):
    """PPO/A2C policy whose actor is a ``SharedLocationNet`` and whose critic is a ``SharedCritic``.

    ``net_arch`` (a list) gives the encoders' layers; ``layout`` comes from ``layout_kwargs``.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space,
                 lr_schedule: Callable[[float], float], layout: Mapping[str, Any] | None = None,
                 net_arch: list[int] | dict[str, list[int]] | None = None, **kwargs: Any) -> None:
        if layout is None:
            raise ValueError(f"policy {POLICY_NAME} needs the network's layout (allocsim.agents.policies)")
        if isinstance(net_arch, dict):
            raise ValueError(f"policy {POLICY_NAME} takes net_arch as a list of layer sizes, not pi/vf")
        self.layout = dict(layout)
        self.hidden = tuple(net_arch or DEFAULT_HIDDEN)
        super().__init__(observation_space, action_space, lr_schedule, net_arch=[], **kwargs)

    def _build_mlp_extractor(self) -> None:
        actor = SharedLocationNet(self.layout, self.hidden, self.activation_fn)
        critic = SharedCritic(actor.encoder, self.activation_fn)
        size = int(np.prod(self.action_space.shape))
        width = int(np.prod(self.observation_space.shape))
        n_l = actor.obs_parts.locations(width)
        if actor.action_parts.size(n_l, int(actor.lanes.shape[0])) != size:
            raise ValueError(f"policy {POLICY_NAME}: the layout gives another action size than {size}")
        self.mlp_extractor = SharedExtractor(actor, critic, size)

    def _build(self, lr_schedule: Callable[[float], float]) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()
        for layer in self.mlp_extractor.actor.output_layers():
            if self.ortho_init:
                nn.init.orthogonal_(layer.weight, gain=0.01)
            nn.init.zeros_(layer.bias)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    @property
    def actor(self) -> SharedLocationNet:
        """The shared actor (a plain module: observation -> action mean)."""
        return self.mlp_extractor.actor  # type: ignore[no-any-return]

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(layout=self.layout, net_arch=list(self.hidden))
        return data
