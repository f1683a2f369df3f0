"""A scenario key misspelt the way a newcomer types it: the one line names the key and what it was
meant to be, in plain words (not pydantic's "Unable to extract tag using discriminator")."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from allocsim.envs.scenario import ScenarioError, scenario_from_dict


def _retail_small() -> dict[str, Any]:
    return yaml.safe_load((resources.files("allocsim.envs") / "presets" / "retail-small.yaml").read_text())


def _message(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, "my-network.yaml")
    message = str(err.value)
    assert "\n" not in message
    return message


def test_a_misspelt_required_key_names_the_key_it_resembles() -> None:
    data = _retail_small()
    data["skus"][0]["holding_cots"] = data["skus"][0].pop("holding_cost")
    message = _message(data)
    assert message == ("my-network.yaml: skus.0.holding_cots: Extra inputs are not permitted (got 0.15); "
                       "did you mean holding_cost?")  # the missing holding_cost is no "+1 more error"


def test_an_unlike_extra_key_gets_no_guess() -> None:
    data = _retail_small()
    data["skus"][0]["colour"] = "red"
    message = _message(data)
    assert "skus.0.colour: Extra inputs are not permitted" in message and "did you mean" not in message


def test_a_misspelt_rule_key_is_said_in_plain_words() -> None:
    data = _retail_small()
    replenishment = data["supplier"]["replenishment"]
    replenishment["rlue"] = replenishment.pop("rule")
    message = _message(data)
    assert message == ("my-network.yaml: supplier.replenishment: the key rule is missing (it says which "
                       "kind this is); is rlue meant to be rule?")


def test_a_missing_rule_key_without_a_lookalike() -> None:
    data = _retail_small()
    del data["supplier"]["replenishment"]["rule"]
    message = _message(data)
    assert message.endswith("supplier.replenishment: the key rule is missing (it says which kind this is)")
