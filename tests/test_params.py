"""Parameters and scenarios: validation names the field, presets are valid and distinct, YAML round trips."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

from shopgym.params import CatalogParams, ParameterError, Scenario, validate_scenario
from shopgym.scenarios import get_scenario, list_scenarios, load_scenario, save_scenario


def test_at_least_six_presets_that_differ():
    names = list_scenarios()
    assert len(names) >= 6
    for required in ("default", "fashion", "electronics", "grocery", "holiday", "new_market"):
        assert required in names
    dumps = {name: get_scenario(name).model_dump(exclude={"name", "description"}) for name in names}
    assert len({repr(d) for d in dumps.values()}) == len(names)


def test_presets_span_loss_aversion_and_gain_seeking():
    def mean_gap(name: str) -> float:
        segs = get_scenario(name).segments
        total = sum(s.weight for s in segs)
        return sum(s.weight * (s.loss_coef - s.gain_coef) for s in segs) / total

    assert mean_gap("default") > 0  # loss averse
    assert mean_gap("fashion") < 0  # gain seeking
    assert mean_gap("grocery") < 0


@pytest.mark.parametrize(
    ("data", "field", "value_text"),
    [
        ({"catalog": {"n_items": -3}}, "catalog.n_items", "-3"),
        ({"catalog": {"n_items": 0}}, "catalog.n_items", "0"),
        ({"choice": {"affinity_weight": math.nan}}, "choice.affinity_weight", "nan"),
        ({"dynamics": {"reference_memory": 1.5}}, "dynamics.reference_memory", "1.5"),
        ({"segments": [{"weight": -1.0}]}, "segments.0.weight", "-1.0"),
        ({"dynamics": {"churn_min": math.inf}}, "dynamics.churn_min", "inf"),
    ],
)
def test_out_of_range_values_name_field_value_and_range(data, field, value_text):
    with pytest.raises(ParameterError) as caught:
        validate_scenario(data)
    message = str(caught.value)
    assert field in message
    assert value_text in message
    if "nan" not in value_text and "inf" not in value_text:
        assert "greater than" in message or "less than" in message


def test_unknown_key_is_named():
    with pytest.raises(ParameterError, match=r"catalog\.n_itemz: unknown key"):
        validate_scenario({"catalog": {"n_itemz": 10}})
    with pytest.raises(ParameterError, match=r"colour: unknown key"):
        validate_scenario({"colour": "red"})


def test_cross_field_rules():
    with pytest.raises(ParameterError, match="n_categories"):
        validate_scenario({"catalog": {"n_items": 3, "n_categories": 5}})
    with pytest.raises(ParameterError, match="margin_low"):
        validate_scenario({"catalog": {"margin_low": 0.7, "margin_high": 0.4}})
    with pytest.raises(ParameterError, match="churn_min"):
        validate_scenario({"dynamics": {"churn_min": 0.5, "churn_max": 0.1}})
    with pytest.raises(ParameterError, match="end"):
        validate_scenario({"drift": [{"kind": "gradual", "start": 10, "end": 5, "to": "fashion"}]})


def test_parameters_are_frozen():
    params = CatalogParams()
    with pytest.raises(Exception, match="frozen"):
        params.n_items = 5  # type: ignore[misc]


def test_unknown_scenario_lists_known_ones():
    with pytest.raises(ParameterError, match="unknown scenario 'atlantis'.*default"):
        get_scenario("atlantis")
    with pytest.raises(ParameterError, match="unknown scenario"):
        gym.make("shopgym/Recommend-v1", scenario="atlantis")


def test_unknown_drift_target_is_an_error_at_construction():
    scenario = validate_scenario({"drift": [{"kind": "switch", "at": 5, "to": "atlantis"}]})
    with pytest.raises(ParameterError, match="atlantis"):
        gym.make("shopgym/Recommend-v1", scenario=scenario)


def test_yaml_round_trip(tmp_path):
    for name in list_scenarios():
        path = tmp_path / f"{name}.yaml"
        save_scenario(get_scenario(name), path)
        assert load_scenario(path) == get_scenario(name)


def test_yaml_base_preset_with_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: fashion\nname: my_fashion\nchoice:\n  outside_utility: 2.5\n")
    scenario = load_scenario(path)
    assert scenario.name == "my_fashion"
    assert scenario.choice.outside_utility == 2.5
    assert scenario.choice.affinity_weight == get_scenario("fashion").choice.affinity_weight
    env = gym.make("shopgym/Marketing-v1", scenario=str(path))
    env.reset(seed=0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("catalog: [1, 2\n", "not valid YAML"),
        ("- just\n- a list\n", "must hold a mapping"),
        ("catalog:\n  n_items: many\n", r"catalog\.n_items = 'many'"),
        ("base: atlantis\n", "unknown scenario"),
        ("!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    ],
)
def test_malformed_yaml_is_a_clear_error(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=match):
        load_scenario(path)


def test_missing_yaml_file(tmp_path):
    with pytest.raises(ParameterError, match="cannot read scenario file"):
        load_scenario(tmp_path / "nope.yaml")


def test_replace_validates():
    scenario = get_scenario("default")
    assert scenario.replace(choice={"outside_utility": 3.0}).choice.outside_utility == 3.0
    with pytest.raises(ParameterError, match="choice.outside_utility"):
        scenario.replace(choice={"outside_utility": 300.0})
    assert isinstance(scenario.replace(name="x"), Scenario)
