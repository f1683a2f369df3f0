"""One-off waits said out loud before they happen, so a first run never looks hung.

Two costs are paid once and kept on disk: compiling the simulator's and the rules' kernels (numba,
once per engine version, into ``allocsim.envs.engine.cache_dir()``) and fitting the sales penalty of a
scenario's penalised bound (once per scenario content, ``allocsim.experiments.penalty_store``).
Each helper checks whether the cost is still due, and if so says what is happening and that it
happens once, pays it in this process (so worker processes forked later inherit the result
instead of each paying it), and says how long it took.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from allocsim.core.heartbeat import with_heartbeat
from allocsim.experiments.progress import duration

if TYPE_CHECKING:
    from allocsim.envs.scenario import Scenario
    from allocsim.experiments.evaluation import PolicySpec

Say = Callable[[str], None]


def kernels_compiled() -> bool:
    """True when the engine's on-disk numba cache holds compiled kernels for this engine source."""
    from allocsim.envs.engine import cache_dir

    return any(cache_dir().rglob("*.nbi"))


#: What is said before a one-off compile; said at once on an empty cache, else after
#: ``COMPILE_NOTE_AFTER`` seconds of warming up (a cache of another engine version compiles too).
COMPILE_NOTE = ("first run: compiling the simulator (once per install or upgrade, about a minute; "
                "later runs start in seconds)")
COMPILE_NOTE_AFTER = 2.0


def _warm(scenario: Scenario) -> None:
    """One reset and step of the scenario's env: loads (or compiles) the engine's kernels."""
    from allocsim.experiments.evaluation import env_for

    env = env_for(scenario)
    env.reset(seed=0)
    env.step(np.zeros(env.action_space.shape, dtype=np.float32))


def compile_first(scenario: Scenario, say: Say) -> bool:
    """Load or compile the kernels now; when that is (or turns out to be) a compile, say so first
    and say how long it took afterwards. Whether it was announced."""
    return _said_when_slow(say, COMPILE_NOTE, lambda: _warm(scenario), now=not kernels_compiled())


#: Said when the rules' first decisions take over ``COMPILE_NOTE_AFTER`` seconds: their own kernels
#: (order-up-to loops, rationing) compile on a first run.
RULES_NOTE = "first run: compiling the rules (once per install or upgrade, seconds to a minute)"


def _warm_rules(scenario: Scenario, specs: Sequence[PolicySpec]) -> None:
    """One decision of each rule set in ``specs`` (learned and slow policies left out) on a reset env."""
    from allocsim.baselines.registry import make_policy, rule_names
    from allocsim.experiments.evaluation import env_for

    env = env_for(scenario)
    obs, _ = env.reset(seed=0)
    for spec in specs:
        if not spec.model and spec.name in rule_names():
            make_policy(spec.name, env, seed=0, **spec.params).predict(obs, deterministic=True)


def warm_rules(scenario: Scenario, specs: Sequence[PolicySpec], say: Say, first_run: bool = False) -> bool:
    """Load or compile the rules' kernels in this process, before workers fork (they inherit them;
    otherwise each worker compiles them at once under a progress bar stuck at 0: 14 s on a first
    retail-small benchmark); said, with a heartbeat, at once on a ``first_run`` (the simulator
    just compiled) or when it takes longer than ``COMPILE_NOTE_AFTER``. Whether it was said."""
    return _said_when_slow(say, RULES_NOTE, lambda: _warm_rules(scenario, specs), now=first_run)


#: Said when a first run's one-seed Lagrangian solve takes over ``COMPILE_NOTE_AFTER`` seconds.
BOUND_NOTE = "first run: compiling the Lagrangian bound (once per install or upgrade)"


def warm_bound(scenario: Scenario, seed: int, say: Say, first_run: bool) -> bool:
    """On a first run (the simulator just compiled) whose DC prices were on disk already (an upgrade
    keeps them), solve the Lagrangian bound of one seed here, so forked workers inherit its kernels
    (else each compiles them under a bar stuck for half a minute); said when slow. Whether said."""
    from allocsim.baselines.lagrangian_bound import refusal
    from allocsim.experiments.evaluation import env_for

    env = env_for(scenario)
    if not first_run or refusal(env.network, env.profile) is not None:  # no bound, nothing to compile
        return False
    from allocsim.experiments.bounds import seed_lagrangian

    return _said_when_slow(say, BOUND_NOTE, lambda: seed_lagrangian(scenario, [seed], 1), now=True)


def _said_when_slow(say: Say, note: str, work: Callable[[], object], now: bool) -> bool:
    """Run ``work`` with ``note`` said at once (``now``) or once it has taken ``COMPILE_NOTE_AFTER``
    seconds, then a heartbeat every 10 s and the time it took; whether the note was said."""
    said = threading.Event()

    def announce() -> None:
        said.set()
        say(note)

    if now:
        announce()
    timer = threading.Timer(COMPILE_NOTE_AFTER, announce)
    timer.daemon = True
    if not said.is_set():
        timer.start()
    started = time.perf_counter()
    try:
        with_heartbeat(lambda line: said.is_set() and say(line), "compiling", work)
    finally:
        timer.cancel()
    if said.is_set():
        say(f"compiled in {duration(time.perf_counter() - started)}")
    return said.is_set()


def penalty_fitted(scenario: Scenario) -> bool:
    """True when the scenario's bound penalty is on disk already (the bound then starts at once)."""
    from allocsim.experiments.evaluation import env_for
    from allocsim.experiments.penalty_store import load_penalty, penalty_key, store_dir

    key = penalty_key(scenario, env_for(scenario).profile)
    return load_penalty(store_dir() / f"{key}.npz") is not None


def _pay_once(say: Say, announce: str, doing: str, work: Callable[[], object], done: str) -> bool:
    """Say ``announce``, run ``work`` with a heartbeat, say ``done`` with the time it took; True."""
    say(announce)
    started = time.perf_counter()
    with_heartbeat(say, doing, work)
    say(f"{done} in {duration(time.perf_counter() - started)}")
    return True


def fit_penalty_first(scenario: Scenario, say: Say) -> bool:
    """Fit the penalised bound's sales penalty now, saying so, when it is not on disk; say so when it is
    read from the cache instead; with replayed demand (no penalty to fit, at once) say nothing.
    Whether it fitted."""
    from allocsim.experiments.bounds import penalty_for
    from allocsim.experiments.evaluation import env_for
    from allocsim.experiments.penalty_store import store_dir

    if env_for(scenario).profile.replay is not None:  # a zero penalty with its note: nothing to wait for
        penalty_for(scenario)
        return False
    if penalty_fitted(scenario):
        say(f"the bound's sales penalty for {scenario.name}: read from the cache in {store_dir()}")
        return False
    return _pay_once(say, f"fitting the bound's sales penalty for {scenario.name} on tuning seeds (once per "
                     f"scenario, kept in {store_dir()}; up to a few minutes)", "fitting the sales penalty",
                     lambda: penalty_for(scenario), "penalty fitted")


def fit_lagrangian_first(scenario: Scenario, say: Say) -> bool:
    """Fit the Lagrangian bound's DC prices now, saying so, when they are not on disk; whether it fitted."""
    from allocsim.experiments.lagrangian_store import multipliers_fitted, multipliers_for
    from allocsim.experiments.penalty_store import store_dir

    if multipliers_fitted(scenario):
        return False
    return _pay_once(say, f"fitting the Lagrangian bound's DC prices for {scenario.name} on tuning seeds "
                     f"(once per scenario, kept in {store_dir()}; seconds on small networks, several "
                     "minutes on retail-medium)", "fitting the DC prices", lambda: multipliers_for(scenario),
                     "prices fitted")


def fit_history_first(scenario: Scenario, say: Say) -> bool:
    """Fit the history-priced bound's prices now, saying so, when they are not on disk; whether it fitted."""
    from allocsim.experiments.history_fit_time import history_fit_time
    from allocsim.experiments.history_store import ROUNDS, history_fitted, history_for
    from allocsim.experiments.penalty_store import store_dir

    if history_fitted(scenario):
        return False
    return _pay_once(say, f"fitting the history-priced bound's DC prices for {scenario.name} ({ROUNDS} "
                     f"rounds, once per scenario, kept in {store_dir()}; {history_fit_time()})",
                     "fitting the history prices", lambda: history_for(scenario),
                     "history prices fitted")


#: Said when evaluating the history-priced bound from its prices takes over ``COMPILE_NOTE_AFTER`` s.
HISTORY_NOTE = "first run: compiling the history-priced bound (once per install or upgrade)"


def history_first(scenario: Scenario, say: Say) -> bool:
    """Before a benchmark: evaluate the history-priced bound from its shipped or cached prices here
    (said when slow: its kernels compile on a first run), or, where it applies but no prices are at
    hand, say in one line that the benchmark skips it (it never fits them). Whether anything was said."""
    from allocsim.experiments.history_store import NO_PRICES, history_for, history_refusal

    if history_refusal(scenario) is not None:
        return False
    found: list[object] = []
    said = _said_when_slow(say, HISTORY_NOTE, lambda: found.append(history_for(scenario, fit=False)),
                           now=False)
    if found[0] is None:
        say(f"skipping the history-priced bound: {NO_PRICES}")
        return True
    return said


#: Said before the learning stack is imported (4-7 s on a cold start), so `train` and `export` never
#: start in silence.
LEARNING_NOTE = "loading PyTorch and stable-baselines3 (a few seconds) ..."
LEARNING_STACK = ("torch", "stable_baselines3")
#: Imported under the note: ``torch._dynamo`` is what torch imports when a command makes its first
#: optimizer (every new or loaded model), 2-3 s that ``export`` spent in silence after the note.
LEARNING_IMPORTS = (*LEARNING_STACK, "torch._dynamo")


def load_learning(say: Say) -> None:
    """Import torch and stable-baselines3 now, saying so first unless they are loaded already.

    A missing package raises ModuleNotFoundError before anything is said (the CLI turns it into
    its one-line install hint).
    """
    if all(name in sys.modules for name in LEARNING_IMPORTS):
        return
    for name in LEARNING_STACK:  # top-level names: a submodule's find_spec would import its package
        if importlib.util.find_spec(name) is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    say(LEARNING_NOTE)
    for name in LEARNING_IMPORTS:
        importlib.import_module(name)
