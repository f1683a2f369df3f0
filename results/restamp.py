"""Re-stamp the shipped files of a preset whose text changed but whose world did not.

A scenario's content hash (``Scenario.content_hash``) covers its whole validated content, the
``description`` included, so correcting a preset's description gives it a new hash and leaves
its shipped tuned parameters and exported policies under the old one (``evaluate``, ``infer``
and ``benchmark`` then refuse or pass them over). This script proves that only the description
changed -- some version of the preset's YAML in git history has the old hash and equals the
current preset in everything but its description -- and then moves every file keyed by the
old hash to the new one, without retraining or re-tuning:

- ``baselines/tuned/<old>/*.json`` -> ``baselines/tuned/<new>/`` (their ``scenario_hash`` too), and the
  history-priced bound's ``history-prices.npz`` (``allocsim.experiments.history_prices``) likewise;
- ``results/tuned/<preset>/*.json``: ``scenario_hash``;
- every ``.onnx`` under ``results/`` and ``agents/pretrained/`` of the preset: the card's hash;
- ``results/runs/*/config.yaml`` of the preset: ``scenario_hash``.

Usage (from the repository root): ``.venv/bin/python results/restamp.py PRESET OLD_HASH``.
Refuses, changing nothing, when the old hash is not a description-only change of the preset.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import onnx
import yaml

from allocsim.agents.policy_card import CARD_KEY, PREFIX
from allocsim.core.atomic_files import atomic_write, write_text
from allocsim.envs.scenario import Scenario, load_scenario
from allocsim.experiments.history_prices import FILE as PRICES
from allocsim.experiments.history_prices import read_prices, write_prices

ROOT = Path(__file__).resolve().parent.parent
TEXT_FIELDS = ("description",)  # what may differ: text that changes nothing in the world


def _world(scenario: Scenario) -> dict[str, Any]:
    """The scenario's content without its free text."""
    data = scenario.model_dump(mode="json", by_alias=True)
    for name in TEXT_FIELDS:
        data.pop(name, None)
    return data


def same_world_version(preset: str, old_hash: str) -> str | None:
    """The commit whose version of the preset has ``old_hash`` and differs from the current preset
    in its text only; None when there is none."""
    path = f"envs/presets/{preset}.yaml"
    commits = subprocess.run(["git", "log", "--format=%H", "--", path], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    current = load_scenario(preset)
    for commit in commits:
        text = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True,
                              text=True).stdout
        try:
            old = Scenario.model_validate(yaml.safe_load(text))
        except ValueError:
            continue
        if old.content_hash() == old_hash:
            return commit if _world(old) == _world(current) else None
    return None


def _restamped_json(path: Path, old: str, new: str) -> str | None:
    """The text of a tuned file with its hash ``old`` replaced (nothing else touched), or None."""
    text = path.read_text(encoding="utf-8")
    if json.loads(text).get("scenario_hash") != old:
        return None
    return text.replace(f'"scenario_hash": "{old}"', f'"scenario_hash": "{new}"', 1)


def _restamp_json(path: Path, old: str, new: str) -> bool:
    text = _restamped_json(path, old, new)
    if text is not None:
        write_text(path, text)
    return text is not None


def _restamp_onnx(path: Path, preset: str, old: str, new: str) -> bool:
    model = onnx.load(str(path))
    props = {p.key: p for p in model.metadata_props}
    card = json.loads(props[CARD_KEY].value) if CARD_KEY in props else {}
    if card.get("scenario") != preset or card.get("scenario_hash") != old:
        return False
    card["scenario_hash"] = new
    props[CARD_KEY].value = json.dumps(card, sort_keys=True)
    props[PREFIX + "scenario_hash"].value = new
    atomic_write(path, lambda tmp: onnx.save(model, str(tmp)))
    return True


def _restamp_config(path: Path, preset: str, old: str, new: str) -> bool:
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if data.get("scenario") != preset or data.get("scenario_hash") != old:
        return False
    write_text(path, text.replace(f"scenario_hash: {old}\n", f"scenario_hash: {new}\n"))
    return True


def restamp(preset: str, old: str) -> list[Path]:
    """Move the preset's files from hash ``old`` to its current hash; the files changed.
    ValueError (nothing changed) unless ``old`` is a text-only change of the preset."""
    new = load_scenario(preset).content_hash()
    if new == old:
        return []
    if same_world_version(preset, old) is None:
        raise ValueError(f"{preset}: no version in git history has hash {old} and the world of the current "
                         "preset; its files must be re-tuned or retrained, not re-stamped")
    changed: list[Path] = []
    tuned_old, tuned_new = ROOT / "baselines" / "tuned" / old, ROOT / "baselines" / "tuned" / new
    for path in sorted(tuned_old.glob("*.json")) if tuned_old.is_dir() else []:
        text = _restamped_json(path, old, new)
        if text is None:
            continue
        changed.append(write_text(tuned_new / path.name, text))
        path.unlink()
    prices = read_prices(tuned_old / PRICES) if (tuned_old / PRICES).is_file() else None
    if prices is not None and prices.scenario == preset and prices.scenario_hash == old:  # the same world
        changed.append(write_prices(tuned_new / PRICES, replace(prices, scenario_hash=new)))
        (tuned_old / PRICES).unlink()
    if tuned_old.is_dir() and not any(tuned_old.iterdir()):
        tuned_old.rmdir()
    changed += [p for p in sorted((ROOT / "results" / "tuned" / preset).glob("*.json"))
                if _restamp_json(p, old, new)]
    pretrained = sorted((ROOT / "agents" / "pretrained").glob("*.onnx"))
    onnx_files = [*sorted((ROOT / "results").rglob("*.onnx")), *pretrained]
    changed += [p for p in onnx_files if _restamp_onnx(p, preset, old, new)]
    changed += [p for p in sorted((ROOT / "results" / "runs").glob("*/config.yaml"))
                if _restamp_config(p, preset, old, new)]
    return changed


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: restamp.py PRESET OLD_HASH")
    try:
        files = restamp(sys.argv[1], sys.argv[2])
    except ValueError as err:
        sys.exit(f"error: {err}")
    print(f"{len(files)} file(s) re-stamped to {load_scenario(sys.argv[1]).content_hash()}")
    for file in files:
        print(f"  {file.relative_to(ROOT)}")
