"""Hyperparameters per algorithm and scenario, RL Zoo style, as plain validated data.

One YAML file per algorithm (``agents/hyperparams/<algo>.yaml``), one entry per
scenario name plus a ``default`` entry; a scenario's entry is merged key by key
over ``default``. Keys:

* ``n_timesteps``, ``n_envs``: training budget and number of parallel envs;
* ``normalize``: ``true``/``false`` or VecNormalize keyword arguments
  (``{norm_obs, norm_reward, clip_obs, clip_reward, gamma}``);
* ``policy``: SB3 policy class name (``MlpPolicy``, ``MlpLstmPolicy``) or one of
  ``allocsim.agents.policies`` (``shared-locations``: one network shared by every location,
  ``allocsim.agents.shared_net``; packaged settings: ``--hyperparams ppo-shared``);
* ``policy_kwargs``: data only, e.g. ``{net_arch: [64, 64], activation_fn: tanh}``;
  activation names map through ``ACTIVATIONS`` (nothing is ever evaluated);
* algorithm keyword arguments (``learning_rate``, ``n_steps``, ``batch_size``, ...),
  each checked against the algorithm's constructor;
* ``warm_start``: optional, clone the reference rule into the policy before learning
  (``{episodes, epochs, batch_size, learning_rate, log_std, zero_target}``, see
  ``allocsim.agents.warm_start``);
* ``residual_start``: optional, residual mode only: start from the best constant residual
  action found by coordinate search (``{episodes, rounds, step}``, see
  ``allocsim.agents.residual_search``);
* ``dcl``: optional, ``--algo dcl`` only: how candidates are compared (``{samples, horizon, step,
  spread, z}``, see ``allocsim.agents.dcl_params``);
* ``action_mode``: the env action mode the entry is made for (``shares``, ``targets``,
  ``residual``); default: ``residual`` with a ``residual_start``, else ``shares``. A command-line
  ``--action-mode`` overrides it unless a start fit belongs to another mode (``mode_for``).

Files are read with a safe YAML loader (``allocsim.envs.scenario.yaml_file``); unknown keys are rejected with
one line naming the file, the entry and the key.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from torch import nn

from allocsim.agents.algorithms import Algorithm, algorithm
from allocsim.agents.dcl_params import DclParams
from allocsim.agents.limits import MAX_BATCH, MAX_BUFFER, MAX_ENVS, MAX_TIMESTEPS
from allocsim.agents.policies import POLICIES, check_policy
from allocsim.agents.residual_search import ResidualStart
from allocsim.agents.train_args import hyperparams_file
from allocsim.agents.warm_start import WarmStart
from allocsim.envs.action_modes import mode_class
from allocsim.envs.scenario.yaml_file import read_yaml

DEFAULT_ENTRY = "default"

#: Activation names allowed in ``policy_kwargs.activation_fn``.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
}


class HyperparamError(ValueError):
    """A hyperparameter file or entry that cannot be used; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class NetArch(_Strict):
    """Separate actor / critic layer sizes (``pi``/``vf`` on-policy, ``pi``/``qf`` off-policy)."""

    pi: list[int] = Field(default_factory=list)
    vf: list[int] | None = None
    qf: list[int] | None = None


class PolicyKwargs(_Strict):
    net_arch: list[int] | NetArch | None = None
    activation_fn: Literal["tanh", "relu", "elu", "leaky_relu", "gelu"] | None = None
    ortho_init: bool | None = None
    log_std_init: float | None = None
    lstm_hidden_size: int | None = Field(default=None, ge=1)
    n_lstm_layers: int | None = Field(default=None, ge=1)
    shared_lstm: bool | None = None
    enable_critic_lstm: bool | None = None

    def to_sb3(self) -> dict[str, Any]:
        """The keyword arguments SB3 takes: activation classes, net_arch as list or dict."""
        out: dict[str, Any] = {}
        for key, value in self.model_dump(exclude_none=True).items():
            if key == "activation_fn":
                out[key] = ACTIVATIONS[value]
            elif key == "net_arch" and isinstance(value, dict):
                out[key] = {k: v for k, v in value.items() if v is not None}
            else:
                out[key] = value
        return out


class NormalizeKwargs(_Strict):
    norm_obs: bool = True
    norm_reward: bool = True
    clip_obs: float = Field(default=10.0, gt=0)
    clip_reward: float = Field(default=10.0, gt=0)
    gamma: float | None = Field(default=None, gt=0, le=1)


#: Algorithm keyword arguments a file may set (each is also checked against the algorithm).
ALGO_KEYS = (
    "learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
    "clip_range_vf", "ent_coef", "vf_coef", "max_grad_norm", "normalize_advantage", "target_kl",
    "use_sde", "sde_sample_freq", "buffer_size", "learning_starts", "tau", "train_freq",
    "gradient_steps", "policy_delay", "target_policy_noise", "target_noise_clip", "rms_prop_eps",
    "use_rms_prop",
)


class Hyperparams(_Strict):
    """One resolved entry: budget, envs, normalisation, policy and algorithm arguments."""

    n_timesteps: int = Field(default=1_000_000, ge=1, le=MAX_TIMESTEPS)
    n_envs: int = Field(default=1, ge=1, le=MAX_ENVS)
    normalize: bool | NormalizeKwargs = True
    policy: str | None = None
    policy_kwargs: PolicyKwargs = Field(default_factory=PolicyKwargs)
    learning_rate: float | None = Field(default=None, gt=0)
    n_steps: int | None = Field(default=None, ge=1, le=MAX_BATCH)
    batch_size: int | None = Field(default=None, ge=1, le=MAX_BATCH)
    n_epochs: int | None = Field(default=None, ge=1, le=MAX_BATCH)
    gamma: float | None = Field(default=None, gt=0, le=1)
    gae_lambda: float | None = Field(default=None, ge=0, le=1)
    clip_range: float | None = Field(default=None, gt=0)
    clip_range_vf: float | None = Field(default=None, gt=0)
    ent_coef: float | Literal["auto"] | None = None
    vf_coef: float | None = Field(default=None, ge=0)
    max_grad_norm: float | None = Field(default=None, gt=0)
    normalize_advantage: bool | None = None
    target_kl: float | None = Field(default=None, gt=0)
    use_sde: bool | None = None
    sde_sample_freq: int | None = Field(default=None, ge=-1, le=MAX_BATCH)
    buffer_size: int | None = Field(default=None, ge=1, le=MAX_BUFFER)
    learning_starts: int | None = Field(default=None, ge=0, le=MAX_TIMESTEPS)
    tau: float | None = Field(default=None, gt=0, le=1)
    train_freq: int | None = Field(default=None, ge=1, le=MAX_BATCH)
    gradient_steps: int | None = Field(default=None, ge=-1, le=MAX_BATCH)
    policy_delay: int | None = Field(default=None, ge=1, le=MAX_BATCH)
    target_policy_noise: float | None = Field(default=None, ge=0)
    target_noise_clip: float | None = Field(default=None, ge=0)
    rms_prop_eps: float | None = Field(default=None, gt=0)
    use_rms_prop: bool | None = None
    warm_start: WarmStart | None = None  # clone the reference rule first (allocsim.agents.warm_start)
    residual_start: ResidualStart | None = None  # residual mode: start from the best constant action
    action_mode: Literal["shares", "targets", "residual"] | None = None  # None: implied by the starts
    dcl: DclParams | None = None  # Deep Controlled Learning's rollouts and labels (allocsim.agents.dcl)

    @model_validator(mode="after")
    def _starts_fit_the_mode(self) -> Hyperparams:
        if self.action_mode is not None and (clash := self.start_conflict(self.action_mode)):
            raise ValueError(f"action_mode {self.action_mode}: {clash}")
        if self.warm_start is not None and self.residual_start is not None:
            raise ValueError("warm_start (shares mode) and residual_start (residual mode) exclude each other")
        registered = POLICIES.get(self.policy or "")
        norm = self.normalize_kwargs()
        if registered is not None and registered.raw_observations and norm is not None and norm["norm_obs"]:
            raise ValueError(f"policy {self.policy} reads raw observations (per-entry statistics would "
                             "tie it to one network); set normalize: {norm_obs: false}")
        return self

    @property
    def mode(self) -> str:
        """The action mode the entry trains in: its ``action_mode``, else the one its start fit needs."""
        if self.action_mode is not None:
            return self.action_mode
        return "residual" if self.residual_start is not None else "shares"

    def start_conflict(self, action_mode: str) -> str | None:
        """Why ``action_mode`` cannot take this entry's start fit, or None when it can."""
        if self.warm_start is not None and action_mode != "shares":
            return "warm_start clones a rule's shares actions, so it needs action_mode shares"
        if self.residual_start is not None and action_mode != "residual":
            return "residual_start searches a residual action, so it needs action_mode residual"
        return None

    def algo_kwargs(self) -> dict[str, Any]:
        """The algorithm keyword arguments that are set (None means the SB3 default)."""
        return {k: v for k in ALGO_KEYS if (v := getattr(self, k)) is not None}

    def normalize_kwargs(self) -> dict[str, Any] | None:
        """VecNormalize keyword arguments, or None for no normalisation."""
        if self.normalize is False:
            return None
        spec = NormalizeKwargs() if self.normalize is True else self.normalize
        out = spec.model_dump(exclude_none=True)
        out.setdefault("gamma", self.gamma if self.gamma is not None else 0.99)
        return out

    @property
    def starts_from_a_fit(self) -> bool:
        """A warm start or residual start shapes the fresh policy (so it is evaluated before learning)."""
        return self.warm_start is not None or self.residual_start is not None

    def check_for(self, algo: Algorithm) -> None:
        """HyperparamError if an algorithm argument is one ``algo``'s constructor does not take."""
        try:
            check_policy(algo, self.policy)
        except ValueError as err:
            raise HyperparamError(str(err)) from None
        accepted = set(inspect.signature(algo.cls.__init__).parameters)
        extra = sorted(set(self.algo_kwargs()) - accepted)
        if extra:
            raise HyperparamError(f"{algo.name} does not take {', '.join(extra)}")
        if self.warm_start is not None and (algo.off_policy or algo.recurrent):
            raise HyperparamError(f"warm_start needs a PPO or A2C MLP policy; {algo.name} cannot take it")
        if self.residual_start is not None and (algo.off_policy or algo.recurrent):
            raise HyperparamError(f"residual_start needs a PPO or A2C MLP policy; {algo.name} cannot take it")
        if self.dcl is not None and algo.trainer is None:
            raise HyperparamError(f"the dcl entry is for --algo dcl; {algo.name} cannot take it")


_TYPE_TAGS = frozenset({"bool", "int", "float", "str", "function-after"})


def _one_line(err: ValidationError, where: str) -> HyperparamError:
    """The most telling error on one line: an unknown key first, else the deepest location.

    Union branch names pydantic puts into locations (``bool``, ``NormalizeKwargs``) are dropped.
    """
    errors = sorted(err.errors(), key=lambda e: (e["type"] != "extra_forbidden", -len(e["loc"])))
    first = errors[0]
    parts = [str(p) for p in first["loc"]]
    loc = ".".join(p for p in parts if p not in _TYPE_TAGS and "[" not in p and not p[:1].isupper())
    if first["type"] == "extra_forbidden":
        return HyperparamError(f"{where}: unknown key {loc!r}")
    message = str(first["msg"]).removeprefix("Value error, ")
    return HyperparamError(f"{where}: {loc}: {message}" if loc else f"{where}: {message}")


def read_file(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of a hyperparameter file (a mapping of entry name to mapping)."""
    data = read_yaml(Path(path), HyperparamError)  # one line naming the file on any read or YAML error
    if data is None or data == {}:
        raise HyperparamError(f"{path}: empty; give a default entry and/or one per scenario "
                              "(the packaged agents/hyperparams/ppo.yaml shows the keys)")
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise HyperparamError(f"{path}: expected a mapping of scenario name to a mapping of settings")
    return data


def validate(entry: dict[str, Any], where: str) -> Hyperparams:
    try:
        return Hyperparams(**entry)
    except ValidationError as err:
        raise _one_line(err, where) from None


def mode_for(flag: str | None, params: Hyperparams, entry: str) -> str:
    """The action mode to train in: ``flag`` (``--action-mode``) if given, else the entry's own.

    HyperparamError naming the fix when the flag asks for a mode the entry's start fit cannot serve.
    """
    if flag is None:
        return params.mode
    try:
        mode_class(flag)
    except ValueError as err:
        raise HyperparamError(f"--action-mode: {err}") from None
    clash = params.start_conflict(flag)
    if clash is None:
        return flag
    start = "warm_start" if params.warm_start is not None else "residual_start"
    raise HyperparamError(f"--action-mode {flag}: {entry} {clash}; leave out --action-mode (the entry "
                          f"trains in {params.mode} mode) or pass --hyperparams FILE whose entry has "
                          f"no {start}")


def entry_label(algo: str, scenario: str, path: Path | None = None) -> str:
    """``ppo.yaml entry 'retail-small'``: where a scenario's hyperparameters come from, for messages."""
    file = hyperparams_file(algo, path)
    try:
        entries = read_file(file)
    except HyperparamError:
        entries = {}
    return f"the {file.name} entry {scenario if scenario in entries else DEFAULT_ENTRY!r}"


def load_hyperparams(algo: str, scenario: str, path: Path | None = None) -> Hyperparams:
    """The entry for ``scenario`` merged over ``default`` from ``path`` (default: the packaged file).

    Every entry of the file is validated, so a typo fails even in another scenario's entry.
    """
    spec = algorithm(algo)
    file = hyperparams_file(algo, path)
    entries = read_file(file)
    for name, entry in entries.items():
        validate({**entries.get(DEFAULT_ENTRY, {}), **entry}, f"{file.name}: {name}")
    if scenario not in entries and DEFAULT_ENTRY not in entries:
        raise HyperparamError(f"{file.name}: no entry {scenario!r} and no {DEFAULT_ENTRY!r} entry "
                              f"(it has {', '.join(map(repr, list(entries)[:5]))}); add one")
    merged = {**entries.get(DEFAULT_ENTRY, {}), **entries.get(scenario, {})}
    params = validate(merged, f"{file.name}: {scenario if scenario in entries else DEFAULT_ENTRY}")
    try:
        params.check_for(spec)
    except HyperparamError as err:
        raise HyperparamError(f"{file.name}: {err}") from None
    return params
