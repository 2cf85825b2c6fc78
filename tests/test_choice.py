"""The choice model: MNL probabilities, the outside option, the deal signal, sampling frequencies."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shopgym.choice import (
    MultinomialLogit,
    VisitUtilities,
    click_probabilities,
    deal_signal,
    purchase_probabilities,
    visit_utilities,
)
from tests.conftest import make_simulator, small_scenario

finite = st.floats(-30, 30, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (7, 4), elements=finite), arrays(np.float64, (7,), elements=finite))
def test_click_probabilities_sum_to_one(click, outside):
    click[:, -1] = -np.inf  # an empty slot
    probs = click_probabilities(VisitUtilities(click=click, outside=outside, purchase=np.zeros_like(click)))
    assert probs.shape == (7, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(probs >= 0)
    assert np.all(probs[:, -1] == 0)


def test_outside_option_absorbs_mass_as_utilities_fall():
    outside = np.zeros(1)
    leave = []
    for shift in np.linspace(3, -8, 12):
        click = np.array([[1.0, 0.5, -0.2]]) + shift
        leave.append(click_probabilities(VisitUtilities(click, outside, np.zeros_like(click)))[0, 0])
    assert np.all(np.diff(leave) > 0)
    assert leave[-1] > 0.99


def test_deal_signal():
    rho = np.array([1.0, 1.0, 0.8, 0.8, 0.9])
    x = np.array([0.8, 1.0, 0.8, 0.7, 0.8])
    np.testing.assert_allclose(deal_signal(rho, x), [1.0, 0.0, 0.0, 1 / 3, 0.5])


def test_purchase_probabilities_are_click_times_conversion():
    click = np.array([[0.3, -0.4]])
    purchase = np.array([[0.0, -np.inf]])
    util = VisitUtilities(click, np.array([0.1]), purchase)
    expected = click_probabilities(util)[:, 1:] * np.array([[0.5, 0.0]])
    np.testing.assert_allclose(purchase_probabilities(util), expected)


def test_sampling_matches_probabilities():
    rng = np.random.default_rng(0)
    n = 200_000
    click = np.tile([[0.5, -0.3, 1.0]], (n, 1))
    purchase = np.tile([[0.0, 2.0, -1.0]], (n, 1))
    util = VisitUtilities(click, np.zeros(n), purchase)
    clicked, purchased = MultinomialLogit().choose(rng, util)
    probs = click_probabilities(util)[0]
    freq = np.bincount(clicked + 1, minlength=4) / n
    np.testing.assert_allclose(freq, probs, atol=4 * np.sqrt(0.25 / n))
    expected_buy = purchase_probabilities(util)[0].sum()
    assert abs(purchased.mean() - expected_buy) < 4 * np.sqrt(0.25 / n)
    assert not np.any(purchased & (clicked < 0))


def test_visit_utilities_follow_the_documented_formula():
    sim = make_simulator(small_scenario(), n_candidates=3)
    state = sim.new_shoppers(4)
    items = state.candidates[:, :2].copy()
    items[3, 1] = -1
    paid = np.array([[1.0, 0.8]] * 4)
    coef, cat = sim.market.coefficients, sim.catalog
    util = visit_utilities(state, cat, coef, items, paid)
    n, j = 1, 1
    item = items[n, j]
    affinity = cat.embedding[item] @ state.taste[n]
    rho = state.reference_price[n]
    expected_click = (
        coef.affinity_weight * affinity
        + cat.quality[item]
        + state.promo_affinity[n] * deal_signal(rho, 0.8)
        - coef.fatigue_weight * state.fatigue[n, cat.category[item]]
        - coef.position_decay * np.log(2.0)
    )
    expected_buy = (
        coef.purchase_bias
        + coef.purchase_affinity_weight * affinity
        - state.price_sensitivity[n] * (np.log(cat.price[item] * 0.8) - cat.price_log_mean)
        + state.gain_coef[n] * max(rho - 0.8, 0)
        - state.loss_coef[n] * max(0.8 - rho, 0)
    )
    assert np.isclose(util.click[n, j], expected_click)
    assert np.isclose(util.purchase[n, j], expected_buy)
    assert util.click[3, 1] == -np.inf and util.purchase[3, 1] == -np.inf
    assert np.isclose(util.outside[n], coef.outside_utility - coef.engagement_weight * (state.engagement[n] - 0.5))


def test_unaffordable_items_are_never_bought():
    sim = make_simulator(small_scenario(), n_candidates=3)
    state = sim.new_shoppers(50)
    state.wallet[:] = 0.0
    items = state.candidates[:, :1]
    util = visit_utilities(state, sim.catalog, sim.market.coefficients, items, np.ones((50, 1)))
    assert np.all(util.purchase == -np.inf)
    _, purchased = MultinomialLogit().choose(np.random.default_rng(1), util)
    assert not purchased.any()
