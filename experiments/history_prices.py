"""The history-priced bound's prices shipped with the package: ``baselines/tuned/<hash>/history-prices.npz``.

Fitting them takes ``history_fit_time.history_fit_time()`` (``history_store.ROUNDS`` bundle rounds; about
25 minutes on retail-small), far too long for a benchmark, so the presets where the bound applies (tiny-dp,
small-dp, retail-small, seasonal-aging) ship their fitted prices beside their tuned rule parameters,
keyed like them by the scenario's content hash (``Scenario.content_hash``) and checked on load against
its shape (SKUs x periods x buckets) and the bucket walk (``lagrangian_history``'s K, J, width). They
are not keyed by the fitting code: the bound is valid at any nonnegative prices, so shipped prices stay
valid when that code changes (at worst less tight), and the bound is always evaluated from them by the
current code, never read from the file. The file records the commit and the rounds that fitted them.
Read with ``allow_pickle=False``, written atomically.

``python -m allocsim.experiments.history_prices PRESET --fit FILE --commit SHA`` writes a preset's file
from a finished fit (a ``history-*.npz`` of the penalty cache, ``penalty_store.store_dir``); without
``--fit``, from ``history_store.history_for`` (which fits when nothing is shipped or cached).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from allocsim.baselines import lagrangian_history as lh
from allocsim.core.atomic_files import atomic_write
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.experiments.evaluation import env_for

FILE = "history-prices.npz"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / "baselines" / "tuned"  # where the writer files them
WALK = (float(lh.K), float(lh.J), float(lh.WIDTH))


@dataclass(frozen=True)
class ShippedPrices:
    """Fitted history prices and where they came from."""

    price: NDArray[np.float64]  # (S, T, 2K + 1), nonnegative
    scenario: str
    scenario_hash: str
    walk: tuple[float, float, float]  # K, J, width of the bucket walk they price
    commit: str  # the commit whose code fitted them
    rounds: int  # bundle rounds of the fit
    fit_bound: float  # L(price) as the fit found it (for the record: users evaluate it again)
    flat_bound: float  # L at the flat prices the fit started from

    @property
    def source(self) -> str:
        """One phrase for reports: where the prices come from."""
        return f"prices shipped with the package, fitted at commit {self.commit[:7]} in {self.rounds} rounds"


def expected_shape(scenario: Scenario) -> tuple[int, int, int]:
    """The prices' shape for ``scenario``: SKUs, periods, buckets."""
    net = env_for(scenario).network
    return net.n_skus, net.periods, 2 * lh.K + 1


def read_prices(source: Path | IO[bytes]) -> ShippedPrices | None:
    """The prices in ``source``, or None when it is missing, unreadable or malformed."""
    try:
        with np.load(source, allow_pickle=False) as data:
            price = np.asarray(data["price"], dtype=np.float64)
            walk = tuple(float(v) for v in data["walk"])
            prices = ShippedPrices(price, str(data["scenario"]), str(data["scenario_hash"]),
                                   (walk[0], walk[1], walk[2]), str(data["commit"]), int(data["rounds"]),
                                   float(data["fit_bound"]), float(data["flat_bound"]))
    except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile):
        return None
    if price.ndim != 3 or not np.isfinite(price).all() or (price < 0).any():
        return None
    return prices


def shipped_prices(scenario: Scenario) -> ShippedPrices | None:
    """The package's prices for exactly this scenario content, shape and walk, or None."""
    digest = scenario.content_hash()
    entry = resources.files("allocsim.baselines").joinpath("tuned", digest, FILE)
    if not entry.is_file():
        return None
    with entry.open("rb") as handle:
        prices = read_prices(handle)
    if prices is None or prices.scenario_hash != digest or prices.walk != WALK:
        return None
    return prices if prices.price.shape == expected_shape(scenario) else None


def write_prices(path: Path, prices: ShippedPrices) -> Path:
    """Write ``prices`` to ``path`` atomically."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.savez(handle, price=prices.price, scenario=np.str_(prices.scenario),
                     scenario_hash=np.str_(prices.scenario_hash), walk=np.array(prices.walk),
                     commit=np.str_(prices.commit), rounds=prices.rounds, fit_bound=prices.fit_bound,
                     flat_bound=prices.flat_bound)

    return atomic_write(path, write)


def _head() -> str:
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main(argv: list[str]) -> int:
    """Write the named preset's shipped prices from its fit; one line."""
    from allocsim.experiments.history_store import history_for, history_refusal, load_fit

    parser = argparse.ArgumentParser(prog="python -m allocsim.experiments.history_prices",
                                     description="File a preset's fitted history prices as package data.")
    parser.add_argument("preset")
    parser.add_argument("--fit", type=Path, help="a finished fit (history-*.npz of the penalty cache)")
    parser.add_argument("--commit", help="the commit whose code fitted them [default: this checkout's HEAD]")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.preset)
    why = history_refusal(scenario)
    if why is not None:
        print(f"{args.preset}: the history-priced bound does not apply ({why})", file=sys.stderr)
        return 2
    fitted = load_fit(args.fit) if args.fit is not None else history_for(scenario)
    if fitted is None or fitted.price.shape != expected_shape(scenario):
        print(f"{args.preset}: {args.fit} is not a fit of this scenario's shape", file=sys.stderr)
        return 2
    prices = ShippedPrices(fitted.price, scenario.name, scenario.content_hash(), WALK, args.commit or _head(),
                           fitted.rounds, fitted.bound, fitted.flat)
    path = write_prices(PACKAGE_DIR / scenario.content_hash() / FILE, prices)
    print(f"{args.preset}: bound {fitted.bound:,.2f} (flat {fitted.flat:,.2f}, {fitted.rounds} rounds) "
          f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
