"""The last bad inputs of the hostile corpus (issue 24, item 13): each is one line naming the file
and what is wrong, exit 2 on the CLI, never a traceback or a silent guess."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import onnx
import pytest
import yaml
from typer.testing import CliRunner

from allocsim.agents.hyperparams import HyperparamError, load_hyperparams
from allocsim.agents.inference import OnnxPolicy
from allocsim.agents.policy_card import CARD_KEY, CardError, PolicyCard
from allocsim.envs.scenario import ScenarioError, load_scenario
from allocsim.envs.scenario.yaml_file import parse_yaml
from allocsim.experiments.cli import app
from allocsim.experiments.results import load_results_config
from allocsim.experiments.trained_model import trained_scenario

runner = CliRunner()
SHIPPED = Path(__file__).parents[2] / "agents" / "pretrained" / "retail-small.onnx"


def _one_error_line(result: object) -> str:
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


# ------------------------------------------------------------------ duplicated YAML keys
@pytest.mark.parametrize(("text", "key", "first", "again"), [
    ("timing:\n  mode: events\n  mode: aggregated\n", "'mode'", 2, 3),
    ("timing: {mode: events}\nperiods: 5\ntiming: {mode: aggregated}\n", "'timing'", 1, 3),
    ("default: {n_envs: 1}\nretail-small: {n_envs: 2}\ndefault: {n_envs: 4}\n", "'default'", 1, 3),
])
def test_a_key_written_twice_is_refused_with_both_lines(text: str, key: str, first: int, again: int) -> None:
    with pytest.raises(ValueError) as err:
        parse_yaml(text, "s.yaml", ValueError)
    assert f"s.yaml: key {key} appears twice in one mapping (first at line {first})" in str(err.value)
    assert f"at line {again}," in str(err.value)


def test_a_merge_may_still_override_what_it_brings_in() -> None:
    """``{<<: *residual, residual_start: ...}`` (packaged ppo.yaml) is YAML's override, not a duplicate."""
    data = parse_yaml("a: &r {x: 1, y: 2}\nb: {<<: *r, x: 5}\n", "h.yaml", ValueError)
    assert data["b"] == {"x": 5, "y": 2}


def test_a_scenario_with_a_duplicated_key_exits_2_naming_it(tmp_path: Path) -> None:
    presets = Path(__file__).parents[2] / "envs" / "presets"
    text = (presets / "tiny-dp.yaml").read_text() + "\nperiods: 9\n"
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="key 'periods' appears twice"):
        load_scenario(str(path))
    line = _one_error_line(runner.invoke(app, ["simulate", "--scenario", str(path), "--episodes", "1"]))
    assert "dup.yaml" in line and "'periods' appears twice" in line


def test_a_refused_tag_is_named_whole() -> None:
    with pytest.raises(ValueError) as err:
        parse_yaml("a: !!python/object/apply:os.system ['ls']\n", "x.yaml", ValueError)
    assert "tag !!python/object/apply:os.system is not allowed" in str(err.value)
    assert "..." not in str(err.value)


# ------------------------------------------------------------------ hyperparameter files
@pytest.mark.parametrize("text", ["", "# nothing\n", "{}\n"])
def test_an_empty_hyperparameter_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hp.yaml"
    path.write_text(text)
    with pytest.raises(HyperparamError, match=r"hp\.yaml: empty"):
        load_hyperparams("ppo", "retail-small", path)


def test_a_file_with_no_entry_for_the_scenario_and_no_default_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hp.yaml"
    path.write_text("tiny-dp: {n_envs: 1}\n")
    with pytest.raises(HyperparamError, match="no entry 'retail-small' and no 'default' entry"):
        load_hyperparams("ppo", "retail-small", path)


# ------------------------------------------------------------------ results configs
@pytest.mark.parametrize(("body", "needle"), [
    ("seeds: [-1]\nscenarios: {tiny-dp: {}}\n", "seeds.0"),
    ("seeds: [0]\nscenarios: {envs/presets/tiny-dp.yaml: {}}\n", "is not a preset name"),
    ("scenarios: {tiny-dp: {}}\nscenarios: {small-dp: {}}\n", "appears twice"),
])
def test_a_bad_results_config_names_the_file(tmp_path: Path, body: str, needle: str) -> None:
    path = tmp_path / "results.yaml"
    path.write_text(body)
    with pytest.raises(ValueError) as err:
        load_results_config(path)
    assert str(path) in str(err.value) and needle in str(err.value)
    out = str(tmp_path / "o")
    line = _one_error_line(runner.invoke(app, ["results", "--config", str(path), "--out", out]))
    assert needle in line


# ------------------------------------------------------------------ policy cards
def _card(**changes: object) -> dict[str, str]:
    data = {**asdict(OnnxPolicy.load(SHIPPED).card), **changes}
    return {CARD_KEY: json.dumps(data)}


@pytest.mark.parametrize(("changes", "needle"), [
    ({"periods": int("9" * 400)}, "periods must be in 1..3,650, got a number of 400 digits"),
    ({"week": -7.0}, "week must be in (0"),
    ({"obs_clip": 0.0}, "obs_clip must be in (0"),
    ({"location_scale": [[0.0] * 3] * 7}, "location_scale must be in (0"),
    ({"max_order": [-1, 0, 0]}, "max_order must be in 0.."),
])
def test_card_numbers_out_of_range_are_refused_in_one_line(changes: dict[str, object], needle: str) -> None:
    card = PolicyCard.from_metadata(_card())
    if "location_scale" in changes:
        changes["location_scale"] = [[0.0] * card.n_skus] * card.n_locations
    if "max_order" in changes:
        changes["max_order"] = [-1] + [0] * (card.n_skus - 1)
    with pytest.raises(CardError) as err:
        PolicyCard.from_metadata(_card(**changes), "p.onnx")
    assert needle in str(err.value) and str(err.value).startswith("p.onnx: ")


def test_reversed_target_ranges_are_refused() -> None:
    ranges = asdict(OnnxPolicy.load(SHIPPED).card)["target_ranges"]
    ranges["low"][0], ranges["high"][0] = ranges["high"][0] + 1.0, ranges["low"][0]
    with pytest.raises(CardError, match="target_ranges entry 0: low"):
        PolicyCard.from_metadata(_card(target_ranges=ranges), "p.onnx")


def test_a_cards_scenario_is_never_opened_as_a_path(tmp_path: Path) -> None:
    model = onnx.load(str(SHIPPED))
    for prop in model.metadata_props:
        if prop.key == CARD_KEY:
            prop.value = json.dumps({**json.loads(prop.value), "scenario": "../../etc/passwd"})
    crafted = tmp_path / "crafted.onnx"
    onnx.save(model, str(crafted))
    with pytest.raises(ValueError, match="not a preset; pass --scenario"):
        trained_scenario(crafted)
    line = _one_error_line(runner.invoke(app, ["evaluate", "--model", str(crafted), "--episodes", "1"]))
    assert "'../../etc/passwd', not a preset" in line


def test_the_shipped_card_passes_the_range_checks() -> None:
    assert yaml.safe_dump(asdict(PolicyCard.from_metadata(_card(), "shipped")))
