"""Drift moves the market on a clock that counts visits and keeps running across episodes."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from shopgym.params import validate_scenario
from shopgym.scenarios import get_scenario
from tests.conftest import NeverClick, make_simulator, small_scenario


def advance(sim, state, visits_per_step: int, steps: int) -> None:
    for _ in range(steps):
        sim.step(state, np.zeros((visits_per_step, 1), dtype=np.int64), np.ones((visits_per_step, 1)))


def test_clock_counts_visits():
    sim = make_simulator(small_scenario(), n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(7)
    advance(sim, state, 7, 3)
    assert sim.clock == 21


def test_abrupt_switch_changes_market_at_the_tick():
    scenario = small_scenario(drift=[{"kind": "switch", "at": 10, "to": "recession"}])
    sim = make_simulator(scenario, n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(5)
    base = sim.market.coefficients.outside_utility
    advance(sim, state, 5, 1)
    assert sim.market.coefficients.outside_utility == base
    advance(sim, state, 5, 1)
    assert sim.clock == 10
    assert sim.market.coefficients.outside_utility == get_scenario("recession").choice.outside_utility
    # shoppers arriving after the switch come from the recession mix
    newcomers = sim.new_shoppers(4000)
    recession_mainstream_beta = get_scenario("recession").segments[0].price_sensitivity
    assert newcomers.price_sensitivity.mean() > recession_mainstream_beta * 0.9


def test_gradual_shift_interpolates_linearly():
    scenario = small_scenario(drift=[{"kind": "gradual", "start": 0, "end": 100, "to": "recession"}])
    sim = make_simulator(scenario, n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(25)
    a = get_scenario("default").choice.outside_utility
    b = get_scenario("recession").choice.outside_utility
    advance(sim, state, 25, 2)  # clock 50: halfway
    assert sim.market.coefficients.outside_utility == pytest.approx(0.5 * a + 0.5 * b)
    weights = sim.market.segments.weight
    assert weights.sum() == pytest.approx(1.0)
    n_default = len(get_scenario("default").segments)
    assert weights[:n_default].sum() == pytest.approx(0.5)
    advance(sim, state, 25, 4)
    assert sim.market.coefficients.outside_utility == pytest.approx(b)


def test_seasonal_cycle():
    scenario = small_scenario(
        drift=[{"kind": "seasonal", "period": 40, "price_sensitivity_amplitude": 0.3, "demand_amplitude": 0.5}]
    )
    sim = make_simulator(scenario, n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(10)
    advance(sim, state, 10, 1)  # clock 10 = quarter period: peak
    coef = sim.market.coefficients
    assert coef.price_sensitivity_scale == pytest.approx(1.3)
    assert coef.outside_shift == pytest.approx(-0.5)
    advance(sim, state, 10, 2)  # clock 30 = three quarters: trough
    assert sim.market.coefficients.price_sensitivity_scale == pytest.approx(0.7)
    advance(sim, state, 10, 1)  # clock 40: back to neutral
    assert sim.market.coefficients.price_sensitivity_scale == pytest.approx(1.0 + 0.3 * math.sin(2 * math.pi))


def test_competitor_entry_ramps_the_outside_option():
    scenario = small_scenario(drift=[{"kind": "competitor", "at": 20, "ramp": 40, "outside_shift": 2.0}])
    sim = make_simulator(scenario, n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(10)
    advance(sim, state, 10, 1)
    assert sim.market.coefficients.outside_shift == 0.0
    advance(sim, state, 10, 3)  # clock 40: halfway through the ramp
    assert sim.market.coefficients.outside_shift == pytest.approx(1.0)
    advance(sim, state, 10, 5)
    assert sim.market.coefficients.outside_shift == pytest.approx(2.0)


def test_catalog_churn_replaces_items_on_schedule():
    scenario = small_scenario(drift=[{"kind": "catalog_churn", "every": 30, "fraction": 0.25}])
    sim = make_simulator(scenario, n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(10)
    original = sim.catalog
    advance(sim, state, 10, 2)
    assert sim.catalog is original
    advance(sim, state, 10, 1)  # clock 30
    churned = sim.catalog
    assert churned is not original
    old = {tuple(np.round(v, 12)) for v in original.embedding}
    new = {tuple(np.round(v, 12)) for v in churned.embedding}
    assert len(new - old) == round(0.25 * original.n_items)
    np.testing.assert_array_equal(np.bincount(churned.category), np.bincount(original.category))


def test_clock_runs_across_episodes_and_restarts_with_a_seed():
    scenario = validate_scenario({"drift": [{"kind": "competitor", "at": 30, "outside_shift": 1.5}]})
    env = gym.make("shopgym/Recommend-v1", scenario=scenario, max_episode_steps=20)
    env.reset(seed=0)
    episodes = 1
    for _ in range(60):
        _, _, terminated, truncated, info = env.step(0)
        if terminated or truncated:
            env.reset()
            episodes += 1
    assert episodes >= 3
    assert info["market_clock"] == 60
    assert env.unwrapped.batch.simulator.market.coefficients.outside_shift == 1.5
    _, info = env.reset(seed=0)
    assert info["market_clock"] == 0
    assert env.unwrapped.batch.simulator.market.coefficients.outside_shift == 0.0


def test_drift_from_yaml(tmp_path):
    path = tmp_path / "drifting.yaml"
    path.write_text(
        "base: default\ndrift:\n  - {kind: seasonal, period: 100}\n  - {kind: switch, at: 500, to: holiday}\n"
    )
    env = gym.make_vec("shopgym/Marketing-v1", num_envs=100, scenario=str(path))
    env.reset(seed=1)
    for _ in range(6):
        env.step(np.zeros(100, dtype=np.int64))
    sim = env.batch.simulator
    assert 500 <= sim.clock <= 600  # slots being refilled (next-step autoreset) serve no visit
    assert sim.market.coefficients.outside_utility == get_scenario("holiday").choice.outside_utility


def test_drift_active_from_clock_zero():
    scenario = small_scenario(drift=[{"kind": "competitor", "at": 0, "outside_shift": 0.7}])
    sim = make_simulator(scenario, n_candidates=1)
    assert sim.clock == 0
    assert sim.market.coefficients.outside_shift == pytest.approx(0.7)
