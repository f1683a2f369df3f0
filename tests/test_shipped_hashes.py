"""Every shipped policy and tuned file is stamped with its preset's current content hash (issue 24,
item 14): a preset whose description was corrected got a new hash, and files left under the old
one are refused by ``infer --scenario`` and passed over by ``benchmark`` (the shipped policy) and
the tuned-parameter lookup. ``results/restamp.py`` moves them when only the text changed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from allocsim.agents.inference import OnnxPolicy
from allocsim.envs.scenario import load_scenario, preset_names

ROOT = Path(__file__).resolve().parent.parent
PRESETS = set(preset_names())

ONNX = sorted([*ROOT.glob("results/*/policy.onnx"), *ROOT.glob("results/runs/*/policy.onnx"),
               *ROOT.glob("agents/pretrained/*.onnx")])
TUNED = sorted([*ROOT.glob("baselines/tuned/*/*.json"), *ROOT.glob("results/tuned/*/*.json")])


def _current(preset: str) -> str:
    return load_scenario(preset).content_hash()


def test_the_shipped_files_are_found() -> None:
    assert any(p.parent.name == "tiny-dp" for p in ONNX)
    assert ROOT / "agents/pretrained/retail-small.onnx" in ONNX
    assert TUNED


@pytest.mark.parametrize("path", ONNX, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_policy_carries_its_presets_current_hash(path: Path) -> None:
    card = OnnxPolicy.load(path).card
    assert card.scenario in PRESETS, card.scenario
    now = _current(card.scenario)
    assert card.scenario_hash == now, (
        f"{path.relative_to(ROOT)}: hash {card.scenario_hash}, {card.scenario} is now {now}; if only its "
        f"text changed: python results/restamp.py {card.scenario} {card.scenario_hash}")


@pytest.mark.parametrize("path", TUNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_tuned_file_carries_its_presets_current_hash(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("scenario") not in PRESETS:
        pytest.skip(f"{data.get('scenario')} is not a preset")
    assert data["scenario_hash"] == _current(data["scenario"])
    if path.parent.parent.name == "tuned" and path.parent.parent.parent.name == "baselines":
        assert path.parent.name == data["scenario_hash"]  # filed under the hash it is looked up by


def _restamp() -> object:
    spec = importlib.util.spec_from_file_location("restamp", ROOT / "results" / "restamp.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_restamp_accepts_only_a_change_of_text() -> None:
    """tiny-dp's first version (hash b40937ff2593ccca) differs from today's in its description only;
    retail-small's hash is no version of tiny-dp, so re-stamping it would be refused."""
    restamp = _restamp()
    assert restamp.same_world_version("tiny-dp", "b40937ff2593ccca") is not None  # type: ignore[attr-defined]
    assert restamp.same_world_version("tiny-dp", _current("retail-small")) is None  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="re-tuned or retrained, not re-stamped"):
        restamp.restamp("tiny-dp", _current("retail-small"))  # type: ignore[attr-defined]
