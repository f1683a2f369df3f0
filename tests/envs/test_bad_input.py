"""Bad input fails early with one clear line naming what and where."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from allocsim.envs.allocation_env import AllocationEnv
from allocsim.envs.demand import DemandCsvError
from allocsim.envs.scenario import ScenarioError, load_scenario, preset_names, scenario_from_dict

BASE = {
    "name": "bad-input",
    "periods": 3,
    "skus": [{"name": "widget", "unit_cost": 10, "price": {"store": 25}, "holding_cost": 0.5}],
    "channels": [{"name": "store"}],
    "dc": {"initial_stock": {"widget": 10}},
    "locations": [
        {"name": "shop", "channels": ["store"], "capacity": 20, "initial_stock": {"widget": 2}}
    ],
    "demand": {"streams": [{"mean": 2.0}]},
}


def scenario_dict():
    return copy.deepcopy(BASE)


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert message, "empty error message"
    assert "\n" not in message, f"message spans lines: {message!r}"
    return message


def test_base_scenario_is_valid():
    """The negative tests below each break one thing of this valid scenario."""
    scenario = scenario_from_dict(scenario_dict())
    assert scenario.name == "bad-input"
    AllocationEnv(scenario).reset(seed=0)


# ------------------------------------------------------------------ scenario files
@pytest.mark.parametrize(
    "text",
    [
        "name: x\nskus: [\n  {name: a\n",  # unclosed flow collection
        "name: x\n\tskus: 1\n",  # tab indentation
        "name: x\nperiods: 3\n  channels: oops\n",  # bad indentation
    ],
)
def test_invalid_yaml_syntax(tmp_path, text):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = one_line(err)
    assert str(path) in message
    assert "line " in message


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = one_line(err)
    assert str(path) in message and "mapping" in message


def test_missing_scenario_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(path) in one_line(err)


def test_unknown_key_in_a_yaml_file_names_file_and_path(tmp_path):
    data = scenario_dict()
    data["locations"][0]["colour"] = "red"
    path = tmp_path / "extra.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as err:
        AllocationEnv(str(path))
    message = one_line(err)
    assert str(path) in message
    assert "locations.0.colour" in message
    assert "red" in message


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (lambda d: d["skus"][0], "skus.0.colour"),
        (lambda d: d["dc"], "dc.colour"),
        (lambda d: d["demand"]["streams"][0], "demand.streams.0.colour"),
        (lambda d: d, "colour"),
    ],
)
def test_unknown_key_is_forbidden_and_named(where, path):
    data = scenario_dict()
    where(data)["colour"] = "red"
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, source="my.yaml")
    message = one_line(err)
    assert message.startswith("my.yaml: ")
    assert f" {path}: " in message


@pytest.mark.parametrize(
    ("change", "path", "value"),
    [
        (lambda d: d.update(periods="ten"), "periods", "'ten'"),
        (lambda d: d["skus"][0].update(holding_cost=-1), "skus.0.holding_cost", "-1"),
        (lambda d: d["skus"][0].update(unit_cost=0), "skus.0.unit_cost", "0"),
        (lambda d: d["skus"][0].update(unit_cost="cheap"), "skus.0.unit_cost", "'cheap'"),
        (lambda d: d["locations"][0].update(capacity=-3), "locations.0.capacity", "-3"),
        (lambda d: d["locations"][0].update(lead_time=1.5), "locations.0.lead_time", "1.5"),
        (lambda d: d["dc"]["initial_stock"].update(widget=-4), "dc.initial_stock.widget", "-4"),
        (lambda d: d["channels"][0].update(unmet="maybe"), "channels.0.unmet", "'maybe'"),
        (lambda d: d["demand"]["streams"][0].update(mean=-2.0), "demand.streams.0.mean", "-2.0"),
    ],
)
def test_wrong_type_or_negative_value_names_path_and_value(change, path, value):
    data = scenario_dict()
    change(data)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, source="my.yaml")
    message = one_line(err)
    assert f"my.yaml: {path}: " in message
    assert value in message


def test_unknown_sku_in_location_initial_stock():
    data = scenario_dict()
    data["locations"][0]["initial_stock"] = {"gadget": 3}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, source="my.yaml")
    message = one_line(err)
    assert "locations.shop.initial_stock" in message
    assert "'gadget'" in message
    assert "widget" in message  # the valid names


@pytest.mark.parametrize("node", ["dc", "location"])
def test_unknown_sku_in_a_node_holding_cost(node: str) -> None:
    data = scenario_dict()
    target, where = (data["dc"], "dc") if node == "dc" else (data["locations"][0], "locations.shop")
    target["holding_cost"] = {"gadget": 0.1}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, source="my.yaml")
    message = one_line(err)
    assert f"{where}.holding_cost" in message and "'gadget'" in message and "widget" in message


def test_unknown_channel_served_by_a_location():
    data = scenario_dict()
    data["locations"][0]["channels"] = ["store", "telepathy"]
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    message = one_line(err)
    assert "locations.shop.channels" in message and "'telepathy'" in message


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ScenarioError) as err:
        load_scenario("retail-huge")
    message = one_line(err)
    assert "'retail-huge'" in message
    names = preset_names()
    assert {"tiny-dp", "small-dp", "strategic-holdback", "strategic-holdback-decision"} <= set(names)
    assert len(names) == 10
    for name in names:
        assert name in message


def test_unknown_preset_through_the_env():
    with pytest.raises(ScenarioError) as err:
        AllocationEnv("no-such-preset")
    assert "retail-small" in one_line(err)


# ------------------------------------------------------------------------ actions
@pytest.fixture
def started():
    env = AllocationEnv("retail-small")
    env.reset(seed=0)
    return env


def _valid(env):
    return np.zeros(env.action_space.shape, dtype=np.float32)


@pytest.mark.parametrize(("bad", "shown"), [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_action_is_rejected(started, bad, shown):
    action = _valid(started)
    action[3] = bad
    with pytest.raises(ValueError) as err:
        started.step(action)
    message = one_line(err)
    assert "entry 3" in message
    assert shown in message
    # nothing happened: the same period can still be played
    _, _, _, _, info = started.step(_valid(started))
    assert info["period"] == 0


@pytest.mark.parametrize(
    "make", [lambda n: np.zeros(n - 1), lambda n: np.zeros(n + 1), lambda n: np.zeros((1, n)), lambda n: 0.5]
)
def test_wrong_action_shape_is_rejected(started, make):
    n = started.action_space.shape[0]
    with pytest.raises(ValueError) as err:
        started.step(make(n))
    message = one_line(err)
    assert "shape" in message
    assert f"({n},)" in message
    _, _, _, _, info = started.step(_valid(started))
    assert info["period"] == 0


def test_step_before_reset_is_an_error():
    env = AllocationEnv("tiny-dp")
    with pytest.raises(RuntimeError) as err:
        env.step(_valid(env))
    assert "reset" in one_line(err)


def test_step_after_the_last_period_is_an_error():
    env = AllocationEnv("tiny-dp")
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, _ = env.step(_valid(env))
    with pytest.raises(RuntimeError) as err:
        env.step(_valid(env))
    assert "reset" in one_line(err)


def test_unknown_reward_component_is_rejected():
    with pytest.raises(ValueError) as err:
        AllocationEnv("tiny-dp", reward_weights={"happiness": 1.0})
    assert "happiness" in one_line(err)


# ----------------------------------------------------------------------- demand CSV
HEADER = "period,sku,location,channel,quantity\n"


def _csv_env(tmp_path, text):
    path = tmp_path / "history.csv"
    path.write_text(text)
    data = scenario_dict()
    data["demand"] = {"csv": str(path)}
    return path, scenario_from_dict(data)


def test_csv_replay_is_used(tmp_path):
    _, scenario = _csv_env(tmp_path, HEADER + "0,widget,shop,store,2\n2,widget,shop,store,1\n")
    env = AllocationEnv(scenario)
    env.reset(seed=0)
    requested = [env.step(_valid(env))[4]["kpis"]["units_requested"] for _ in range(3)]
    assert requested == [2.0, 0.0, 1.0]


def test_csv_relative_path_is_taken_from_the_scenario_folder(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "history.csv").write_text(HEADER + "1,widget,shop,store,4\n2,widget,shop,store,0\n")
    data = scenario_dict()
    data["demand"] = {"csv": "history.csv"}
    (folder / "s.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.chdir(tmp_path)
    env = AllocationEnv(str(folder / "s.yaml"))
    env.reset(seed=0)
    requested = [env.step(_valid(env))[4]["kpis"]["units_requested"] for _ in range(3)]
    assert requested == [0.0, 4.0, 0.0]


@pytest.mark.parametrize(
    ("rows", "row", "column", "value"),
    [
        ("0,widget,shop,store,1\n1,gadget,shop,store,1\n", 3, "sku", "'gadget'"),
        ("0,widget,shop,store,2.5\n", 2, "quantity", "'2.5'"),
        ("0,widget,shop,store,1\n1,widget,shop,store,lots\n", 3, "quantity", "'lots'"),
        ("0,widget,shop,store,-1\n", 2, "quantity", "-1"),
        ("0,widget,mall,store,1\n", 2, "location", "'mall'"),
        ("0,widget,shop,phone,1\n", 2, "channel", "'phone'"),
        ("x,widget,shop,store,1\n", 2, "period", "'x'"),
        ("0,widget,shop,store,1\n9,widget,shop,store,1\n", 3, "period", "9"),
    ],
)
def test_bad_csv_row_names_row_and_column(tmp_path, rows, row, column, value):
    path, scenario = _csv_env(tmp_path, HEADER + rows)
    with pytest.raises(DemandCsvError) as err:
        AllocationEnv(scenario)
    message = one_line(err)
    assert str(path) in message
    assert f"row {row}" in message
    assert f"column '{column}'" in message
    assert value in message


@pytest.mark.parametrize("missing", ["quantity", "sku", "period"])
def test_csv_with_a_missing_column(tmp_path, missing):
    columns = [c for c in ("period", "sku", "location", "channel", "quantity") if c != missing]
    values = {"period": "0", "sku": "widget", "location": "shop", "channel": "store", "quantity": "1"}
    text = ",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n"
    path, scenario = _csv_env(tmp_path, text)
    with pytest.raises(DemandCsvError) as err:
        AllocationEnv(scenario)
    message = one_line(err)
    assert str(path) in message
    assert missing in message
    assert "column" in message


def test_missing_csv_file(tmp_path):
    data = scenario_dict()
    data["demand"] = {"csv": str(tmp_path / "absent.csv")}
    with pytest.raises(DemandCsvError) as err:
        AllocationEnv(scenario_from_dict(data))
    assert "absent.csv" in one_line(err)


def test_csv_error_is_a_value_error():
    assert issubclass(DemandCsvError, ValueError)
    assert issubclass(ScenarioError, ValueError)


def test_csv_row_number_is_the_line_in_the_file(tmp_path):
    """A blank line must not shift the row a message points the user to."""
    _, scenario = _csv_env(tmp_path, HEADER + "0,widget,shop,store,1\n\n1,gadget,shop,store,1\n")
    with pytest.raises(DemandCsvError) as err:
        AllocationEnv(scenario)
    message = one_line(err)
    assert "'gadget'" in message
    assert "row 4" in message  # line 4 of the file holds the bad row


def test_csv_saved_with_a_byte_order_mark_loads(tmp_path):
    """Spreadsheet exports ("CSV UTF-8") start with a BOM; the header is still valid."""
    path = tmp_path / "history.csv"
    path.write_text(HEADER + "1,widget,shop,store,4\n2,widget,shop,store,0\n", encoding="utf-8-sig")
    data = scenario_dict()
    data["demand"] = {"csv": str(path)}
    env = AllocationEnv(scenario_from_dict(data))
    env.reset(seed=0)
    requested = [env.step(_valid(env))[4]["kpis"]["units_requested"] for _ in range(3)]
    assert requested == [0.0, 4.0, 0.0]


# ------------------------------------------------------------------ numbers at their bounds
def _at_the_bounds() -> dict:
    """Every unit, money and demand number at (or near) its schema bound on a short horizon."""
    data = scenario_dict()
    data["periods"] = 30
    data["skus"][0].update(unit_cost=1e9, price={"store": 1e9}, holding_cost=1e9, salvage_value=1e9)
    data["channels"][0].update(unmet="mix", patience=365, shortage_penalty=1e9, backorder_cost=1e9)
    data["supplier"] = {"capacity_per_period": {"widget": 10**9},
                        "replenishment": {"rule": "base-stock", "level": {"widget": 10**9}}}
    data["dc"] = {"initial_stock": {"widget": 10**9}}
    data["locations"][0].update(capacity=10**9, initial_stock={"widget": 10**9})
    data["demand"] = {"streams": [{"mean": 1e6, "distribution": "normal", "cv": 10.0,
                                   "promotions": [{"start": 3, "end": 5, "lift": 1000.0}]}]}
    data["guardrails"] = {"max_days_of_supply": 365.0, "working_capital_cap": 1e21, "aging_goal": 365}
    return data


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_an_episode_at_the_bounds_keeps_every_invariant(fill):
    """The bounds hold the arithmetic: no overflow, no negative stock, units balance, money finite."""
    env = AllocationEnv(scenario_from_dict(_at_the_bounds()))
    env.reset(seed=3)
    action = np.full(env.action_space.shape, fill, dtype=np.float32)
    done, info = False, {}
    while not done:
        _, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        assert np.isfinite(reward)
        assert (env.state.on_hand >= 0).all() and (env.state.dc_on_hand >= 0).all()
    kpis = info["episode_kpis"]
    assert kpis["units_requested"] == kpis["units_fulfilled"] + kpis["lost_sales_units"]
    assert kpis["units_requested"] > 1e9  # the promotion lifts demand to 1e9 per period
    assert 0.0 <= kpis["fill_rate"] <= 100.0
    assert all(np.isfinite(v) for v in kpis.values() if isinstance(v, float))


def test_a_misspelt_key_is_named_before_the_key_it_was_meant_to_be():
    data = scenario_dict()
    data["locations"][0] = {"nmae": "shop", "channels": ["store"], "capacity": 20}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    message = one_line(err)
    assert "locations.0.nmae" in message and "Extra inputs are not permitted" in message
