"""Shopper dynamics of the batched core, with fake components where a deterministic answer is needed."""

from __future__ import annotations

import numpy as np
import pytest

from shopgym.catalog import generate_candidates, sample_catalog
from shopgym.choice import visit_utilities
from shopgym.core import HISTORY_MEMORY
from shopgym.params import CatalogParams, RetrievalParams
from tests.conftest import ClickFirstBuyAlways, NeverClick, make_simulator, small_scenario

NO_CHURN = {"churn_min": 0.0, "churn_max": 0.0}


def one_item(n: int, paid: float) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n, 1), dtype=np.int64), np.full((n, 1), paid)


def test_catalog_is_grouped_sorted_and_within_bounds():
    params = CatalogParams(n_items=300, n_categories=7, margin_low=0.2, margin_high=0.4)
    catalog = sample_catalog(np.random.default_rng(0), params)
    assert np.all(np.diff(catalog.category) >= 0)
    assert np.all(catalog.category_count >= 1) and catalog.category_count.sum() == 300
    for c in range(7):
        block = catalog.popularity[catalog.category_start[c] : catalog.category_start[c] + catalog.category_count[c]]
        assert np.all(np.diff(block) <= 0)
    assert np.all((catalog.margin >= 0.2 - 1e-12) & (catalog.margin <= 0.4 + 1e-12))
    np.testing.assert_allclose(np.linalg.norm(catalog.embedding, axis=1), 1.0)
    assert catalog.item_features.dtype == np.float32


def test_candidates_are_valid_distinct_and_favour_popular_items():
    params = CatalogParams(n_items=400, n_categories=5)
    catalog = sample_catalog(np.random.default_rng(0), params)
    rng = np.random.default_rng(1)
    weights = np.full((3000, 5), 0.2)
    cands = generate_candidates(rng, catalog, weights, 20, RetrievalParams())
    assert cands.shape == (3000, 20) and cands.min() >= 0 and cands.max() < 400
    # each category has ≥ 20 items here, so no shopper sees an item twice
    assert all(len(set(row)) == 20 for row in cands[:200])
    counts = np.bincount(cands.ravel(), minlength=400)
    position = np.arange(400) - catalog.category_start[catalog.category]  # 0 = most popular of its category
    quarter = position / catalog.category_count[catalog.category]
    assert counts[quarter < 0.25].sum() > 2 * counts[quarter >= 0.75].sum()


def test_candidates_follow_category_weights():
    catalog = sample_catalog(np.random.default_rng(0), CatalogParams(n_items=200, n_categories=4))
    weights = np.tile([1.0, 0.0, 0.0, 0.0], (2000, 1))
    cands = generate_candidates(np.random.default_rng(2), catalog, weights, 10, RetrievalParams(explore_fraction=0.2))
    share = (catalog.category[cands] == 0).mean()
    assert abs(share - (0.8 + 0.2 / 4)) < 0.01


def test_a_discount_lowers_the_reference_price_of_its_category_only():
    sim = make_simulator(small_scenario(), n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(6)
    zeta = sim.market.coefficients.reference_memory
    before = state.reference_price.copy()
    shown = state.candidates[:, :1].copy()
    category = sim.catalog.category[shown[:, 0]]
    rows = np.arange(6)
    sim.step(state, *one_item(6, 0.7))
    expected = before.copy()
    expected[rows, category] = zeta * before[rows, category] + (1 - zeta) * 0.7
    np.testing.assert_allclose(state.reference_price, expected)  # other categories keep theirs
    assert np.all(state.reference_price[rows, category] < before[rows, category])
    discounted = state.reference_price.copy()
    state.candidates[:, :1] = shown  # the same items again, at list price
    sim.step(state, *one_item(6, 1.0))
    assert np.all(state.reference_price[rows, category] > discounted[rows, category])


@pytest.mark.parametrize("nu", [0.0, 0.5])
def test_unexamined_prices_move_the_reference_by_their_weight(fake_click_buy, nu):
    """ν < 1: the clicked item's price moves its category's ρ in full, a shown but unclicked one by ν of the step;
    ν = 0: only the examined price forms the reference (docs/model.md §5)."""
    sim = make_simulator(
        small_scenario(dynamics={"unexamined_price_weight": nu}), n_candidates=2, choice_model=fake_click_buy
    )
    state = sim.new_shoppers(200)
    state.wallet[:] = state.budget_cap[:] = 1e6
    zeta = sim.market.coefficients.reference_memory
    before = state.reference_price.copy()
    shown = state.candidates[:, :2].copy()
    slate = np.tile([0, 1], (200, 1))  # the first two candidates; the fake model clicks the first slot
    sim.step(state, slate, np.tile([0.6, 0.8], (200, 1)))
    rows = np.arange(200)
    first, second = sim.catalog.category[shown[:, 0]], sim.catalog.category[shown[:, 1]]
    apart = first != second
    assert apart.sum() > 50
    clicked = zeta * before[rows, first] + (1 - zeta) * 0.6
    np.testing.assert_allclose(state.reference_price[rows, first][apart], clicked[apart])
    unclicked = before[rows, second] + nu * (1 - zeta) * (0.8 - before[rows, second])
    np.testing.assert_allclose(state.reference_price[rows, second][apart], unclicked[apart])
    together = zeta * before[rows, first] + (1 - zeta) * (0.6 + nu * 0.8) / (1 + nu)  # ν-weighted target
    np.testing.assert_allclose(state.reference_price[rows, first][~apart], together[~apart])


def test_loss_averse_shoppers_buy_less_right_after_a_promotion_than_before_it():
    sim = make_simulator(small_scenario(), n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(500)
    state.wallet[:] = state.budget_cap[:] = 1e6
    assert state.loss_coef.mean() > state.gain_coef.mean()
    state.consumption_rate[:] = 0.0  # stock stays put: only the reference price moves
    items = state.candidates[:, :1].copy()
    full_price = np.ones((500, 1))

    def conversion() -> np.ndarray:
        util = visit_utilities(state, sim.catalog, sim.market.coefficients, items, full_price)
        return 1.0 / (1.0 + np.exp(-util.purchase[:, 0]))

    before = conversion()
    for _ in range(4):
        state.candidates[:, :1] = items  # the promotion runs on the items whose conversion is measured
        sim.step(state, *one_item(500, 0.8))
    after = conversion()
    assert np.all(after < before)
    assert after.mean() < 0.85 * before.mean()


def test_loss_aversion_shows_in_sampled_purchases():
    """With the real MNL: list-price conversion right after a 4-visit promotion is lower than in a control
    market (same seed) where those 4 visits were at list price."""
    n = 40_000

    def final_conversion(promo_paid: float) -> float:
        sim = make_simulator(small_scenario(dynamics=NO_CHURN), n_candidates=1)
        state = sim.new_shoppers(n)
        sim.step(state, *one_item(n, 1.0))
        for _ in range(4):
            sim.step(state, *one_item(n, promo_paid))
        after = sim.step(state, *one_item(n, 1.0))
        return after.purchased.sum() / max((after.clicked >= 0).sum(), 1)

    assert final_conversion(0.8) < final_conversion(1.0) - 0.03


def test_engagement_lowers_the_churn_hazard():
    sim = make_simulator(small_scenario(), n_candidates=1, choice_model=NeverClick())
    n = 20_000
    state = sim.new_shoppers(n)
    state.engagement[: n // 2] = 0.95
    state.engagement[n // 2 :] = 0.15
    churned = sim.step(state, *one_item(n, 1.0)).churned
    high, low = churned[: n // 2].mean(), churned[n // 2 :].mean()
    coef = sim.market.coefficients
    e_low = 0.15 - coef.engagement_loss_ignore
    expected_low = coef.churn_min + (coef.churn_max - coef.churn_min) * (1 - e_low) ** coef.churn_power
    assert high < low
    assert abs(low - expected_low) < 4 * np.sqrt(expected_low / (n // 2))


def test_fake_choice_makes_transitions_deterministic():
    scenario = small_scenario(dynamics=NO_CHURN)
    finals = []
    for visit_seed in (1, 2):
        sim = make_simulator(scenario, n_candidates=3, seed=0, choice_model=ClickFirstBuyAlways())
        state = sim.new_shoppers(8)
        state.candidates[:] = np.arange(24).reshape(8, 3)  # same shown items regardless of the stream
        sim.visit_rng = np.random.default_rng(visit_seed)
        outcome = sim.step(state, np.zeros((8, 1), dtype=np.int64), np.full((8, 1), 0.9))
        finals.append((state, outcome))
    (a, oa), (b, ob) = finals
    for name in ("reference_price", "engagement", "wallet", "taste", "fatigue", "history_taste", "category_share"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(oa.reward, ob.reward)


def test_a_purchase_updates_wallet_taste_engagement_and_history():
    sim = make_simulator(small_scenario(dynamics=NO_CHURN), n_candidates=2, choice_model=ClickFirstBuyAlways())
    state = sim.new_shoppers(5)
    state.wallet[:] = 1e4
    state.budget_cap[:] = 1e5
    before = state.copy()
    item = state.candidates[:, 0].copy()
    outcome = sim.step(state, np.zeros((5, 1), dtype=np.int64), np.full((5, 1), 0.8))
    cat, coef = sim.catalog, sim.market.coefficients
    assert outcome.purchased.all()
    price = cat.price[item]
    np.testing.assert_allclose(outcome.reward, 0.8 * price - cat.cost[item])
    np.testing.assert_allclose(outcome.components["discount_cost"], 0.2 * price)
    np.testing.assert_allclose(state.wallet, before.wallet - 0.8 * price + before.budget_income)
    np.testing.assert_allclose(state.engagement, np.minimum(before.engagement + coef.engagement_gain_purchase, 1.0))
    closer = np.einsum("nd,nd->n", state.taste, cat.embedding[item]) > np.einsum(
        "nd,nd->n", before.taste, cat.embedding[item]
    )
    assert closer.all()
    rows = np.arange(5)
    assert np.all(state.category_share[rows, cat.category[item]] > before.category_share[rows, cat.category[item]])
    assert np.all(state.fatigue[rows, cat.category[item]] == coef.fatigue_per_exposure)
    np.testing.assert_allclose(state.click_rate, 1 - HISTORY_MEMORY)


def test_wallet_is_capped_and_blocks_purchases():
    sim = make_simulator(small_scenario(dynamics=NO_CHURN), n_candidates=1, choice_model=ClickFirstBuyAlways())
    state = sim.new_shoppers(4)
    state.wallet[:] = 0.0
    state.budget_income[:] = 0.0
    outcome = sim.step(state, *one_item(4, 1.0))
    assert not outcome.purchased.any() and (outcome.clicked == 0).all()
    state.budget_income[:] = 1e9
    sim.step(state, *one_item(4, 1.0))
    assert np.all(state.wallet <= state.budget_cap)


def test_fatigue_grows_with_exposure_and_decays():
    sim = make_simulator(small_scenario(dynamics=NO_CHURN), n_candidates=1, choice_model=NeverClick())
    state = sim.new_shoppers(1)
    coef = sim.market.coefficients
    sim.step(state, *one_item(1, 1.0))
    assert state.fatigue.sum() == pytest.approx(coef.fatigue_per_exposure)
    total = state.fatigue.sum()
    state.candidates[:] = -1  # nothing to show
    sim.step(state, np.full((1, 1), -1), np.ones((1, 1)))
    assert state.fatigue.sum() == pytest.approx(coef.fatigue_decay * total)


def test_batched_rows_match_rows_stepped_alone():
    """Row parity: with a deterministic choice model and no churn draw, stepping N shoppers together gives the
    same next state per shopper as stepping each shopper alone (only the fresh candidate draw differs)."""
    scenario = small_scenario(dynamics=NO_CHURN)
    sim = make_simulator(scenario, n_candidates=4, choice_model=ClickFirstBuyAlways())
    state = sim.new_shoppers(6)
    slate = np.array([[0], [1], [2], [3], [0], [1]])
    paid = np.array([[1.0], [0.9], [0.8], [0.7], [0.5], [1.0]])
    batched = state.copy()
    outcome = sim.step(batched, slate, paid)
    for row in range(6):
        alone = state.take(slice(row, row + 1))
        single = sim.step(alone, slate[row : row + 1], paid[row : row + 1])
        assert single.reward[0] == outcome.reward[row]
        for name in ("reference_price", "engagement", "wallet", "taste", "fatigue", "category_share", "spend"):
            np.testing.assert_array_equal(getattr(alone, name)[0], getattr(batched, name)[row], err_msg=name)


def test_an_empty_visit_offers_no_discount_and_keeps_the_reference_price():
    sim = make_simulator(small_scenario(dynamics=NO_CHURN), n_candidates=2, choice_model=NeverClick())
    state = sim.new_shoppers(3)
    state.reference_price[:] = 0.7
    sim.step(state, np.full((3, 1), -1), np.ones((3, 1)))
    np.testing.assert_array_equal(state.reference_price, 0.7)
    np.testing.assert_array_equal(state.last_discount, 0.0)


def test_popularity_sharpness_zero_is_uniform_and_larger_concentrates_it():
    flat = sample_catalog(np.random.default_rng(0), CatalogParams(n_items=500, popularity_sharpness=0.0))
    np.testing.assert_allclose(flat.popularity, 1 / 500)
    mild = sample_catalog(np.random.default_rng(0), CatalogParams(n_items=500, popularity_sharpness=1.0))
    sharp = sample_catalog(np.random.default_rng(0), CatalogParams(n_items=500, popularity_sharpness=3.0))
    assert np.sort(sharp.popularity)[::-1][:25].sum() > np.sort(mild.popularity)[::-1][:25].sum() + 0.2
