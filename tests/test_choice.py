"""The choice model: nested-logit probabilities, the outside option, the deal response, quantities, sampling."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shopgym.choice import NestedLogit, VisitUtilities, deal_response, visit_utilities
from tests.conftest import make_simulator, small_scenario

finite = st.floats(-30, 30, allow_nan=False)
MODEL = NestedLogit()


def utilities(click, outside, purchase=None, nest=None, lam=1.0, mu=1.0, extra=0.0, max_units=1) -> VisitUtilities:
    click = np.asarray(click, dtype=np.float64)
    n, s = click.shape
    return VisitUtilities(
        click=click,
        outside=np.asarray(outside, dtype=np.float64),
        purchase=np.zeros_like(click) if purchase is None else np.asarray(purchase, dtype=np.float64),
        nest=np.zeros((n, s), dtype=np.int64) if nest is None else np.asarray(nest),
        extra_units=np.full((n, s), extra),
        max_units=np.full((n, s), max_units),
        category_nest=lam,
        slate_nest=mu,
        n_nests=int(np.max(nest)) + 1 if nest is not None else 1,
    )


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (7, 4), elements=finite),
    arrays(np.float64, (7,), elements=finite),
    arrays(np.int64, (7, 4), elements=st.integers(0, 2)),
    st.floats(0.05, 1.0),
)
def test_click_probabilities_sum_to_one(click, outside, nest, lam):
    click[:, -1] = -np.inf  # an empty slot
    probs = MODEL.probabilities(utilities(click, outside, nest=nest, lam=lam, mu=1.0)).click
    assert probs.shape == (7, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-9)
    assert np.all(probs >= 0)
    assert np.all(probs[:, -1] == 0)


def test_lambda_and_mu_one_is_the_multinomial_logit():
    click, outside = np.array([[0.3, -0.2, 1.1, 0.4]]), np.array([0.5])
    probs = MODEL.probabilities(utilities(click, outside, nest=np.array([[0, 1, 0, 2]]))).click
    weights = np.exp(np.concatenate([outside, click[0]]))
    np.testing.assert_allclose(probs[0], weights / weights.sum(), rtol=1e-12)


def test_nested_logit_matches_its_formula():
    click, outside, nest = np.array([[0.3, -0.2, 1.1]]), np.array([0.5]), np.array([[0, 1, 0]])
    lam, mu = 0.4, 0.7
    probs = MODEL.probabilities(utilities(click, outside, nest=nest, lam=lam, mu=mu)).click[0]
    iv = {c: lam * np.log(np.exp(click[0, nest[0] == c] / lam).sum()) for c in (0, 1)}
    top = mu * np.log(sum(np.exp(v / mu) for v in iv.values()))
    p_click = 1 / (1 + np.exp(outside[0] - top))
    expected = [
        p_click
        * np.exp(iv[c] / mu)
        / sum(np.exp(v / mu) for v in iv.values())
        * np.exp(click[0, j] / lam)
        / np.exp(iv[c] / lam)
        for j, c in enumerate(nest[0])
    ]
    np.testing.assert_allclose(probs[1:], expected, rtol=1e-12)


def test_a_clone_splits_demand_instead_of_adding_to_it():
    """Showing an exact duplicate (same category, same utility, next position) barely raises P(any click) under
    the default nests, while under the multinomial logit it adds demand as if it were a new product."""
    coef = small_scenario().choice
    theta = coef.position_decay * np.log(2.0)
    alone = utilities([[0.0]], [1.0], lam=coef.category_nest, mu=coef.slate_nest)
    pair = utilities([[0.0, -theta]], [1.0], lam=coef.category_nest, mu=coef.slate_nest)
    p_alone = MODEL.probabilities(alone).click[0, 1:].sum()
    p_pair = MODEL.probabilities(pair).click[0, 1:].sum()
    assert p_pair <= p_alone + 0.02
    mnl_pair = MODEL.probabilities(utilities([[0.0, -theta]], [1.0])).click[0, 1:].sum()
    assert mnl_pair > p_alone + 0.08


def test_items_of_other_categories_add_more_demand_than_items_of_the_same():
    same = utilities([[0.0, 0.0, 0.0]], [1.0], nest=np.array([[0, 0, 0]]), lam=0.5, mu=0.8)
    spread = utilities([[0.0, 0.0, 0.0]], [1.0], nest=np.array([[0, 1, 2]]), lam=0.5, mu=0.8)
    assert MODEL.probabilities(spread).click[0, 0] < MODEL.probabilities(same).click[0, 0]


def test_outside_option_absorbs_mass_as_utilities_fall():
    leave = []
    for shift in np.linspace(3, -8, 12):
        leave.append(MODEL.probabilities(utilities(np.array([[1.0, 0.5, -0.2]]) + shift, [0.0])).click[0, 0])
    assert np.all(np.diff(leave) > 0)
    assert leave[-1] > 0.99


def test_deal_response_is_zero_below_the_threshold_and_grows_with_depth_then_saturates():
    depth = np.linspace(0.0, 0.6, 61)
    response = deal_response(np.ones_like(depth), 1.0 - depth, threshold=0.05, saturation=0.15)
    assert np.all(response[depth <= 0.05 + 1e-12] < 1e-12)  # a 1-5 % discount goes unnoticed
    assert np.all(np.diff(response[depth > 0.05]) > 0)  # deeper is better
    assert response[-1] < 1.0 and response[-1] - response[-11] < 0.1  # saturating
    # against a reference the shopper has come to expect, the same discount is no deal
    assert deal_response(np.array([0.8]), np.array([0.8]), 0.05, 0.15)[0] == 0.0
    assert deal_response(np.array([1.2]), np.array([1.0]), 0.05, 0.15)[0] == 0.0  # no discount off list


def test_wear_out_lowers_the_deal_response_after_repeated_promotions():
    sim = make_simulator(small_scenario(), n_candidates=1)
    state = sim.new_shoppers(200)
    state.promo_affinity[:] = 1.0
    items, paid = state.candidates[:, :1].copy(), np.full((200, 1), 0.7)
    fresh = visit_utilities(state, sim.catalog, sim.market.coefficients, items, paid).click
    state.deal_wear[:] = 0.9  # deals were shown at most recent visits
    worn = visit_utilities(state, sim.catalog, sim.market.coefficients, items, paid).click
    assert np.all(worn < fresh)


def test_purchase_probabilities_are_click_times_conversion():
    util = utilities([[0.3, -0.4]], [0.1], purchase=[[0.0, -np.inf]])
    p = MODEL.probabilities(util)
    np.testing.assert_allclose(p.buy, p.click[:, 1:] * np.array([[0.5, 0.0]]))


def test_expected_units_follow_the_capped_poisson():
    util = utilities([[0.0]], [0.0], extra=1.5, max_units=4)
    k = np.arange(3)
    cdf = np.cumsum(np.exp(-1.5) * 1.5**k / np.array([1, 1, 2]))
    np.testing.assert_allclose(MODEL.probabilities(util).units[0, 0], 1 + (1 - cdf).sum())
    assert MODEL.probabilities(utilities([[0.0]], [0.0], extra=0.0, max_units=4)).units[0, 0] == 1.0


def test_sampling_matches_probabilities():
    rng = np.random.default_rng(0)
    n = 200_000
    click = np.tile([[0.5, -0.3, 1.0]], (n, 1))
    purchase = np.tile([[0.0, 2.0, -1.0]], (n, 1))
    util = dataclasses.replace(
        utilities(click, np.zeros(n), purchase, nest=np.tile([[0, 1, 0]], (n, 1)), lam=0.5, mu=0.8, extra=0.8),
        max_units=np.full((n, 3), 3),
    )
    choice = MODEL.choose(rng, util)
    p = MODEL.probabilities(util)
    freq = np.bincount(choice.clicked + 1, minlength=4) / n
    np.testing.assert_allclose(freq, p.click[0], atol=4 * np.sqrt(0.25 / n))
    assert abs(choice.purchased.mean() - p.buy[0].sum()) < 4 * np.sqrt(0.25 / n)
    assert not np.any(choice.purchased & (choice.clicked < 0))
    assert abs(choice.units[choice.purchased].mean() - p.units[0, 0]) < 0.02
    assert choice.units.max() == 3 and np.all(choice.units[~choice.purchased] == 0)


def test_visit_utilities_follow_the_documented_formula():
    sim = make_simulator(small_scenario(), n_candidates=3)
    state = sim.new_shoppers(4)
    state.deal_wear[:] = 0.3
    state.inventory[:] = 0.7
    state.wallet[:] = 1e6
    items = state.candidates[:, :2].copy()
    items[3, 1] = -1
    paid = np.array([[1.0, 0.8]] * 4)
    coef, cat = sim.market.coefficients, sim.catalog
    util = visit_utilities(state, cat, coef, items, paid)
    n, j = 1, 1
    item = items[n, j]
    c = cat.category[item]
    affinity = cat.embedding[item] @ state.taste[n]
    rho = state.reference_price[n, c]
    log_price = np.log(0.8)
    alpha, beta = coef.click_price_share, state.price_sensitivity[n]
    deal = 1 - np.exp(-max(rho - 0.8 - coef.deal_threshold, 0) / coef.deal_saturation)
    expected_click = (
        coef.affinity_weight * affinity
        + cat.quality[item]
        + state.promo_affinity[n] * (1 - coef.wearout_weight * 0.3) * deal
        - coef.fatigue_weight * state.fatigue[n, c]
        - alpha * beta * log_price
        - coef.position_decay * np.log(2.0)
    )
    expected_buy = (
        coef.purchase_bias
        + coef.purchase_affinity_weight * affinity
        - (1 - alpha) * beta * log_price
        + state.gain_coef[n] * max(rho - 0.8, 0)
        - state.loss_coef[n] * max(0.8 - rho, 0)
        - coef.inventory_weight * 0.7
    )
    assert np.isclose(util.click[n, j], expected_click)
    assert np.isclose(util.purchase[n, j], expected_buy)
    assert np.isclose(util.extra_units[n, j], coef.stockpile_rate * max(rho - 0.8, 0))
    assert util.nest[n, j] == c
    assert util.click[3, 1] == -np.inf and util.purchase[3, 1] == -np.inf
    assert np.isclose(util.outside[n], coef.outside_utility - coef.engagement_weight * (state.engagement[n] - 0.5))


def test_unaffordable_items_are_never_bought_and_the_wallet_caps_the_units():
    sim = make_simulator(small_scenario(), n_candidates=3)
    state = sim.new_shoppers(50)
    items = state.candidates[:, :1]
    price = sim.catalog.price[items[:, 0]]
    state.wallet[:] = 0.0
    util = visit_utilities(state, sim.catalog, sim.market.coefficients, items, np.ones((50, 1)))
    assert np.all(util.purchase == -np.inf)
    assert not MODEL.choose(np.random.default_rng(1), util).purchased.any()
    state.wallet[:] = 2.5 * price
    util = visit_utilities(state, sim.catalog, sim.market.coefficients, items, np.ones((50, 1)))
    assert np.all(util.max_units == 2)
