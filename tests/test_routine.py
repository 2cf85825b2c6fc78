"""Days between visits and routine lines (docs/model.md §5): their distributions, how they meet stock, prices and
the reward, and that markets without them step exactly as before (the task fixtures pin that)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from shopgym.calibration.store import StorePolicy, StoreRun, simulate_store
from shopgym.calibration.transactions import TRANSACTION_STATISTICS
from shopgym.params import ParameterError
from shopgym.promote_bound import check_reduced, promote_reduction
from shopgym.routine import routine_lines
from tests.conftest import NeverClick, make_simulator, small_scenario

NO_CHURN = {"churn_min": 0.0, "churn_max": 0.0}


def shoppers_with(**segment) -> object:
    base = small_scenario(dynamics=NO_CHURN)
    return base.replace(segments=[s.model_dump() | segment for s in base.segments])


def nothing_shown(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, 1), -1), np.ones((n, 1))


def no_purchase(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The offer's item and units of a visit without a purchase."""
    return np.full(n, -1), np.zeros(n, dtype=np.int64)


def test_days_between_visits_are_geometric_with_the_segment_mean_and_stock_is_used_per_day():
    sim = make_simulator(shoppers_with(visit_interval=5.0, consumption_rate=0.1), choice_model=NeverClick())
    state = sim.new_shoppers(20_000)
    np.testing.assert_array_equal(state.day, 0)
    stock = state.inventory.copy()
    outcome = sim.step(state, *nothing_shown(20_000))
    assert outcome.gap.min() == 1 and abs(outcome.gap.mean() - 5.0) < 0.08
    assert abs(outcome.gap.var() - 5.0 * 4.0) < 1.0  # geometric: variance (1 − p)/p² = 20
    np.testing.assert_array_equal(state.day, outcome.gap)
    np.testing.assert_allclose(state.inventory, stock * 0.9 ** outcome.gap[:, None])


def test_the_interval_spread_makes_some_shoppers_regulars_and_keeps_the_mean():
    sim = make_simulator(shoppers_with(visit_interval=10.0, visit_interval_sd=1.0))
    interval = sim.new_shoppers(50_000).visit_interval
    assert interval.min() > 1.0 and abs(interval.mean() - 10.0) < 0.15
    assert np.median(interval) < 8.0  # log-normal: most shoppers come more often than the mean interval


def test_the_routine_spread_gives_households_their_own_basket_size():
    def shoppers(n: int, **segment) -> object:
        return make_simulator(shoppers_with(routine_purchase=0.2, visit_interval=5.0, **segment)).new_shoppers(n)

    chance = shoppers(20_000, routine_purchase_sd=1.5).routine_purchase
    np.testing.assert_array_equal(shoppers(100).routine_purchase, 0.2)
    assert abs(np.median(chance) - 0.2) < 0.01  # log-odds centred on the segment's
    assert abs(np.log(chance / (1 - chance)).std() - 1.5) < 0.03
    plain, spread = shoppers(50), shoppers(50, routine_purchase_sd=1.5)
    for field in ("price_sensitivity", "visit_interval", "taste"):  # drawn last: the other traits are as before
        np.testing.assert_array_equal(getattr(spread, field), getattr(plain, field))
    none = make_simulator(shoppers_with(routine_purchase=0.0, routine_purchase_sd=1.5)).new_shoppers(100)
    np.testing.assert_array_equal(none.routine_purchase, 0.0)  # no routine lines stays none


def test_the_basket_correlates_with_the_visit_interval_only_where_the_interval_spreads():
    def shoppers(n: int, **segment) -> object:
        settings = {"routine_purchase": 0.2, "routine_purchase_sd": 1.5, "visit_interval": 10.0} | segment
        return make_simulator(shoppers_with(**settings)).new_shoppers(n)

    state = shoppers(50_000, visit_interval_sd=1.0, routine_interval_correlation=0.6)
    log_odds = np.log(state.routine_purchase / (1 - state.routine_purchase))
    assert abs(np.corrcoef(np.log(state.visit_interval - 1.0), log_odds)[0, 1] - 0.6) < 0.02
    assert abs(log_odds.std() - 1.5) < 0.03 and abs(np.median(state.routine_purchase) - 0.2) < 0.01  # as without κ
    plain = shoppers(100, visit_interval_sd=1.0)
    for field in ("visit_interval", "price_sensitivity"):
        np.testing.assert_array_equal(
            getattr(shoppers(100, visit_interval_sd=1.0, routine_interval_correlation=0.6), field),
            getattr(plain, field),
        )
    # no interval spread: nothing to correlate with, the same households as without κ
    np.testing.assert_array_equal(
        shoppers(100, routine_interval_correlation=0.6).routine_purchase, shoppers(100).routine_purchase
    )


def test_trial_shoppers_leave_after_their_first_visit_and_only_then():
    base = small_scenario(dynamics={"churn_min": 0.1, "churn_max": 0.1})
    scenario = base.replace(segments=[s.model_dump() | {"first_visit_churn": 0.4} for s in base.segments])
    sim = make_simulator(scenario, choice_model=NeverClick())
    state = sim.new_shoppers(40_000)
    first = sim.step(state, *nothing_shown(40_000)).churned.mean()
    assert abs(first - (1 - 0.9 * 0.6)) < 0.01  # 1 − (1 − h)(1 − f₁) = 0.46
    later = sim.step(state, *nothing_shown(40_000)).churned.mean()  # (the leavers stay in the batch: a second visit)
    assert abs(later - 0.1) < 0.01


def test_top_up_trips_are_a_share_of_returns_a_day_or_two_later():
    def gaps(**segment) -> np.ndarray:
        sim = make_simulator(shoppers_with(visit_interval=20.0, **segment), choice_model=NeverClick())
        return sim.step(sim.new_shoppers(40_000), *nothing_shown(40_000)).gap

    mixed, plain = gaps(topup_chance=0.3, topup_interval=2.0), gaps()
    assert abs(mixed.mean() - (0.3 * 2.0 + 0.7 * 20.0)) < 0.3
    # P(gap = 1) = 0.3 · 1/2 + 0.7 · 1/20: the top-ups make a day's gap four times as likely as without them
    assert abs((mixed == 1).mean() - 0.185) < 0.01 and abs((plain == 1).mean() - 0.05) < 0.005
    np.testing.assert_array_equal(gaps(topup_interval=2.0), plain)  # no top-ups: no draws, the same gaps


def test_new_shoppers_bring_the_segments_initial_stock():
    def stock(**segment) -> np.ndarray:
        return make_simulator(shoppers_with(routine_purchase=0.2, **segment)).new_shoppers(20_000).inventory

    default = stock()
    assert default.min() >= 0.0 and default.max() < 1.0 and abs(default.mean() - 0.5) < 0.01  # uniform on [0, 1)
    np.testing.assert_array_equal(stock(initial_stock=0.5), default)  # the default draws as before
    np.testing.assert_array_equal(stock(initial_stock=0.0), 0.0)
    np.testing.assert_allclose(stock(initial_stock=2.0), 4.0 * default)


def test_a_full_pantry_shortens_every_category_of_the_basket():
    sim = make_simulator(shoppers_with(routine_purchase=0.3, reference_price_sd=0.0), choice_model=NeverClick())
    flat = dataclasses.replace(sim.market.coefficients, inventory_weight=0.0)
    state = sim.new_shoppers(40_000)
    state.inventory[:] = 0.0
    state.inventory[:, 0] = 2.0  # two units of category 0 in every pantry
    plain = routine_lines(np.random.default_rng(0), state, sim.catalog, flat, *no_purchase(40_000))
    full = routine_lines(np.random.default_rng(0), state, sim.catalog, dataclasses.replace(flat, pantry_weight=0.5),
                         *no_purchase(40_000))  # fmt: skip
    assert abs((plain.item >= 0).mean() - 0.3) < 0.005
    chance = 1 / (1 + np.exp(-(np.log(0.3 / 0.7) - 0.5 * 2.0)))
    assert abs((full.item[:, 1:] >= 0).mean() - chance) < 0.005  # every category, not only the one in stock


def test_markets_without_intervals_or_routine_lines_report_neither():
    sim = make_simulator(small_scenario())
    outcome = sim.step(sim.new_shoppers(10), *nothing_shown(10))
    assert outcome.gap is None and outcome.routine is None


def test_routine_lines_at_list_price_follow_the_chance_and_popularity():
    sim = make_simulator(shoppers_with(routine_purchase=0.3, reference_price_sd=0.0), choice_model=NeverClick())
    coef = dataclasses.replace(sim.market.coefficients, inventory_weight=0.0)  # list prices, ρ = 1: log-sum 0
    state = sim.new_shoppers(40_000)
    lines = routine_lines(np.random.default_rng(0), state, sim.catalog, coef, *no_purchase(40_000))
    bought = lines.item >= 0
    assert abs(bought.mean() - 0.3) < 0.005
    np.testing.assert_array_equal(sim.catalog.category[lines.item[bought]], np.nonzero(bought)[1])
    first = sim.catalog.category == 0
    expected = sim.catalog.popularity[first] / sim.catalog.popularity[first].sum()
    counts = np.bincount(lines.item[:, 0][bought[:, 0]], minlength=first.size)[first]
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.01)
    np.testing.assert_array_equal(lines.paid_fraction[bought], 1.0)
    assert lines.units.min() == 0 and lines.units[bought].min() == 1


def test_a_shelf_discount_draws_routine_lines_to_the_item_by_the_shoppers_price_terms():
    sim = make_simulator(
        shoppers_with(routine_purchase=0.5, price_sensitivity=2.0, price_sensitivity_sd=0.0, reference_coef_sd=0.0,
                      reference_price_sd=0.0, gain_coef=1.0),
        choice_model=NeverClick(),
    )  # fmt: skip
    coef = dataclasses.replace(sim.market.coefficients, inventory_weight=0.0)
    state = sim.new_shoppers(40_000)
    item = int(sim.catalog.category_start[1])  # the most popular item of category 1
    shelf = np.ones(sim.catalog.price.size)
    shelf[item] = 0.8
    lines = routine_lines(np.random.default_rng(1), state, sim.catalog, coef, *no_purchase(40_000), shelf)
    in_one = sim.catalog.category == 1
    w = sim.catalog.popularity[item] / sim.catalog.popularity[in_one].sum()
    boost = np.exp(-2.0 * np.log(0.8) + 1.0 * 0.2)
    total = 1 - w + w * boost
    assert abs((lines.item[:, 1] >= 0).mean() - total / (1 + total)) < 0.006  # logit 0 + log of the category's sum
    chose = lines.item[:, 1][lines.item[:, 1] >= 0]
    assert abs((chose == item).mean() - w * boost / total) < 0.01
    np.testing.assert_allclose(lines.paid_fraction[:, 1][lines.item[:, 1] == item], 0.8)
    assert (lines.item[:, 0] >= 0).mean() == pytest.approx(0.5, abs=0.01)  # other categories: unchanged


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_the_category_value_weight_sets_how_much_a_discount_adds_lines(weight):
    sim = make_simulator(
        shoppers_with(routine_purchase=0.5, price_sensitivity=2.0, price_sensitivity_sd=0.0, reference_coef_sd=0.0,
                      reference_price_sd=0.0, gain_coef=1.0),
        choice_model=NeverClick(),
    )  # fmt: skip
    coef = dataclasses.replace(sim.market.coefficients, inventory_weight=0.0, routine_value_weight=weight)
    state = sim.new_shoppers(40_000)
    item = int(sim.catalog.category_start[1])
    shelf = np.ones(sim.catalog.price.size)
    shelf[item] = 0.8
    at_list = routine_lines(np.random.default_rng(1), state, sim.catalog, coef, *no_purchase(40_000))
    lines = routine_lines(np.random.default_rng(1), state, sim.catalog, coef, *no_purchase(40_000), shelf)
    in_one = sim.catalog.category == 1
    w = sim.catalog.popularity[item] / sim.catalog.popularity[in_one].sum()
    boost = np.exp(-2.0 * np.log(0.8) + 1.0 * 0.2)
    total = 1 - w + w * boost
    assert abs((lines.item[:, 1] >= 0).mean() - total**weight / (1 + total**weight)) < 0.006  # logit 0 + ω·log-sum
    chose = lines.item[:, 1][lines.item[:, 1] >= 0]
    assert abs((chose == item).mean() - w * boost / total) < 0.01  # the item drawn as with ω = 1
    if weight == 0.0:  # the discount moves no line: the same lines as at list price, some of them to the item
        np.testing.assert_array_equal(lines.item >= 0, at_list.item >= 0)


def test_stock_from_an_offer_bought_at_the_visit_replaces_routine_lines():
    sim = make_simulator(shoppers_with(routine_purchase=0.5), choice_model=NeverClick())
    state = sim.new_shoppers(20_000)
    state.inventory[:] = 0.0
    item = int(sim.catalog.category_start[2])
    bought = (np.full(20_000, item), np.full(20_000, 3))
    coef = sim.market.coefficients
    with_offer = routine_lines(np.random.default_rng(2), state, sim.catalog, coef, *bought)
    without = routine_lines(np.random.default_rng(2), state, sim.catalog, coef, *no_purchase(20_000))
    assert (with_offer.item[:, 2] >= 0).mean() < 0.2 < 0.4 < (without.item[:, 2] >= 0).mean()


def test_routine_lines_count_in_the_reward_stock_and_reference_price():
    sim = make_simulator(shoppers_with(routine_purchase=0.4, consumption_rate=0.0), choice_model=NeverClick())
    state = sim.new_shoppers(500)
    stock, rho = state.inventory.copy(), state.reference_price.copy()
    shelf = np.full(sim.catalog.price.size, 0.9)
    outcome = sim.step(state, *nothing_shown(500), shelf=shelf)
    lines = outcome.routine
    price = sim.catalog.price[np.maximum(lines.item, 0)]
    cost = sim.catalog.cost[np.maximum(lines.item, 0)]
    np.testing.assert_allclose(outcome.components["revenue"], (lines.units * price * 0.9).sum(axis=1))
    np.testing.assert_allclose(outcome.components["profit"], (lines.units * (0.9 * price - cost)).sum(axis=1))
    np.testing.assert_allclose(outcome.components["units"], lines.units.sum(axis=1))
    np.testing.assert_allclose(state.inventory, stock + lines.units)
    zeta = sim.market.coefficients.reference_memory
    expected = np.where(lines.units > 0, zeta * rho + (1 - zeta) * 0.9, rho)
    np.testing.assert_allclose(state.reference_price, expected)


@pytest.mark.parametrize("field", ["routine_purchase", "first_visit_churn"])
def test_the_promote_bound_refuses_routine_lines_and_trial_shoppers(field):
    reduced = promote_reduction(shoppers_with(**{field: 0.2}))
    sim = make_simulator(reduced)
    check_reduced(reduced, sim.catalog)  # the reduction switches them off: the DP knows neither
    changed = reduced.replace(segments=[s.model_dump() | {field: 0.2} for s in reduced.segments])
    with pytest.raises(ParameterError, match=f"segments.0.{field} = 0.2"):
        check_reduced(changed, sim.catalog)


def grocer(**segment) -> object:
    base = small_scenario(dynamics={"churn_min": 0.1, "churn_max": 0.1})
    settings = {"visit_interval": 7.0, "visit_interval_sd": 0.5, "routine_purchase": 0.5, **segment}
    return base.replace(segments=[s.model_dump() | settings for s in base.segments])


def test_a_simulated_store_log_is_reproducible_and_inside_its_window():
    scenario = grocer()
    log = simulate_store(scenario, days=30, shoppers=300, seed=4, burn_in=60)
    again = simulate_store(scenario, days=30, shoppers=300, seed=4, burn_in=60)
    for name in ("customer", "day", "product", "units", "paid", "cost"):
        np.testing.assert_array_equal(getattr(log, name), getattr(again, name))
    assert len(log) > 1000 and log.day.min() == 0 and log.day.max() == 29
    other = simulate_store(scenario, days=30, shoppers=300, seed=5, burn_in=60)
    assert len(other) != len(log)
    _, customer, day = log.visits
    assert np.all(np.diff(day)[customer[1:] == customer[:-1]] >= 1)  # one visit per customer and day


def test_a_simulated_store_starts_steady():
    """Slots start as a store open for ever holds them (slow shoppers stay longer, so they hold more slots): a window
    at the start looks like one 240 days later. Starting every slot with a new shopper, the first window has
    0.07 more one-visit customers and 0.14 more visits per customer than the later one."""
    scenario = grocer(visit_interval=20.0, visit_interval_sd=1.0, first_visit_churn=0.3, topup_chance=0.2)
    named = {s.name: s.compute for s in TRANSACTION_STATISTICS}
    early, late = [], []
    for seed in range(3):
        log = simulate_store(scenario, 300, 1500, seed, burn_in=0)
        for window, into in ((("2000-11-01", "2000-12-30"), early), (("2001-06-29", "2001-08-27"), late)):
            into.append(
                [named[n](log.between(*window)) for n in ("customers with one visit (share)", "visits per customer")]
            )
    one_visit, visits = np.mean(early, axis=0) - np.mean(late, axis=0)
    assert abs(one_visit) < 0.03 and abs(visits) < 0.07


EVEN_SALES = np.full(400, 1 / 400)  # 400 items that sell alike


def test_the_shelf_policy_has_its_share_spell_length_and_depth():
    shelf = StorePolicy(discount_chance=0.2, discount_days=7.0, discount_depth=0.15).shelf(
        np.random.default_rng(0), 3000, EVEN_SALES
    )
    on = shelf < 1.0
    assert abs(on.mean() - 0.2) < 0.01
    begins = on[1:] & ~on[:-1]
    assert abs(on[1:].sum() / begins.sum() - 7.0) < 0.3  # spells are geometric with mean 7 days
    assert abs((1.0 - shelf[on]).mean() - 0.15) < 0.005
    assert np.all(np.diff(shelf, axis=0)[on[1:] & on[:-1]] == 0.0)  # one depth for a whole spell


def test_store_discounts_show_as_lines_below_the_regular_price():
    scenario = grocer()
    none = simulate_store(scenario, 30, 300, 0, StorePolicy(discount_chance=0.0), burn_in=30)
    some = simulate_store(scenario, 30, 300, 0, StorePolicy(discount_chance=0.2, discount_depth=0.15), burn_in=30)
    np.testing.assert_allclose(none.unit_price, none.regular_price, rtol=1e-9, atol=0.006)
    assert (some.unit_price < 0.98 * some.regular_price).mean() > 0.05


def test_a_store_run_continued_under_another_policy_is_a_run_started_with_it():
    """A later window's store search steps the earlier window once and continues it under each policy it tries:
    each continuation must be, line for line, the store started with that calendar, whatever the later policy
    changes: short sales and the till, rises, or the promotions themselves."""
    earlier = StorePolicy(discount_chance=0.1, discount_days=20.0, rise_chance=0.02, checkout_chance=0.1)
    run = StoreRun(grocer(), 40, 300, 3, [(0, earlier), (25, earlier)], burn_in=30).run(25)
    for later in (
        StorePolicy(discount_chance=0.1, discount_days=20.0, sale_chance=0.05, checkout_chance=0.3),
        StorePolicy(discount_chance=0.1, discount_days=20.0, rise_chance=0.1, rise_size=0.3),
        StorePolicy(discount_chance=0.3, discount_days=5.0, discount_depth=0.3, discount_focus=1.0),
    ):
        fresh = simulate_store(grocer(), 40, 300, 3, [(0, earlier), (25, later)], burn_in=30)
        continued = run.with_policy(1, later).run().log()
        for name in ("customer", "day", "product", "units", "paid", "cost"):
            np.testing.assert_array_equal(getattr(continued, name), getattr(fresh, name))
    assert run.day == 25  # the continuations stepped copies
    with pytest.raises(ParameterError, match="past policy 1's first day 20"):
        StoreRun(grocer(), 40, 300, 3, [(0, earlier), (20, earlier)], burn_in=30).run(25).with_policy(1, earlier)


def test_a_store_with_churn_sees_new_customers_arrive():
    log = simulate_store(grocer(), 60, 200, 0, burn_in=200)
    assert np.unique(log.customer).size > 300  # more customers than slots: leavers were replaced


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"days": 0}, "days = 0"),
        ({"shoppers": 0}, "shoppers = 0"),
        ({"burn_in": -1}, "burn_in = -1"),
        ({"kept": 0.0}, "kept = 0.0"),
    ],
)
def test_bad_store_arguments_name_the_field(kwargs, match):
    arguments = {"scenario": grocer(), "days": 5, "shoppers": 5, "seed": 0} | kwargs
    with pytest.raises(ParameterError, match=match):
        simulate_store(**arguments)


def test_price_rises_take_their_share_of_the_days_off_promotion_and_leave_discounts_alone():
    policy = StorePolicy(discount_chance=0.2, discount_days=5.0, discount_depth=0.15, rise_chance=0.25, rise_size=0.3)
    shelf = policy.shelf(np.random.default_rng(0), 3000, EVEN_SALES)
    up, down = shelf > 1.0, shelf < 1.0
    assert abs(down.mean() - 0.2) < 0.01  # the discount chain is drawn first, as without rises
    assert abs(up.mean() - 0.25 * 0.8) < 0.01
    assert abs((shelf[up] - 1.0).mean() - 0.3) < 0.01
    begins = up[1:] & ~up[:-1]
    assert 4.0 < up[1:].sum() / begins.sum() < 5.0  # spells of 5 days, some cut short by a discount
    plain = StorePolicy(discount_chance=0.2, discount_days=5.0, discount_depth=0.15)
    unchanged = plain.shelf(np.random.default_rng(0), 50, EVEN_SALES)
    assert np.array_equal(
        unchanged, plain.model_copy(update={"rise_size": 0.5}).shelf(np.random.default_rng(0), 50, EVEN_SALES)
    )
    assert np.array_equal(np.minimum(shelf[:50], 1.0), unchanged)  # rises draw from a stream of their own


def test_short_sales_add_a_second_depth_on_every_item_and_leave_the_promotions_alone():
    sales = np.random.default_rng(1).lognormal(0.0, 1.0, 400)
    sales /= sales.sum()
    promotions = StorePolicy(discount_chance=0.1, discount_days=30.0, discount_depth=0.05, discount_focus=2.0)
    policy = promotions.model_copy(update={"sale_chance": 0.1, "sale_days": 3.0, "sale_depth": 0.15})
    plain, shelf = (p.shelf(np.random.default_rng(0), 3000, sales) for p in (promotions, policy))
    assert np.all(shelf <= plain) and np.array_equal(plain < 1, (plain < 1) & (shelf < 1))  # the deeper discount
    sale = shelf < plain  # item-days a sale made deeper
    top = sales >= np.quantile(sales, 0.9)
    assert abs(sale[:, ~top].mean() - 0.1) < 0.01  # every item alike, where no promotion runs
    assert abs((1 - shelf[sale]).mean() - 0.15) < 0.01
    begins = sale[1:] & ~sale[:-1]
    assert 2.8 < sale[1:].sum() / begins.sum() < 3.1  # spells of 3 days (a few cut short by a promotion)
    assert np.array_equal(policy.model_copy(update={"sale_chance": 0.0}).shelf(np.random.default_rng(0), 50, sales),
                          plain[:50])  # fmt: skip


def test_focused_promotions_fall_on_the_best_sellers():
    sales = np.random.default_rng(1).lognormal(0.0, 1.0, 400)
    sales /= sales.sum()
    even = StorePolicy(discount_chance=0.2).shelf(np.random.default_rng(0), 3000, sales)
    shelf = StorePolicy(discount_chance=0.2, discount_focus=1.0).shelf(np.random.default_rng(0), 3000, sales)
    top = sales >= np.quantile(sales, 0.9)
    assert abs((even < 1)[:, top].mean() - 0.2) < 0.02  # no focus: every item alike
    share, expected = (shelf < 1).mean(axis=0), np.minimum(0.2 * sales * 400, 0.95)  # ∝ sales, capped
    assert share[top].mean() > 2 * share[~top].mean() and abs(share.mean() - expected.mean()) < 0.01
    assert np.corrcoef(share, expected)[0, 1] > 0.97


def test_store_rises_show_as_lines_above_the_regular_price():
    scenario = grocer()
    log = simulate_store(scenario, 30, 300, 0, StorePolicy(discount_chance=0.1, rise_chance=0.2), burn_in=30)
    above = log.unit_price > 1.02 * log.regular_price
    assert 0.05 < above.mean() < 0.3


def test_a_thinned_store_keeps_whole_slots_of_the_same_store():
    whole = simulate_store(grocer(), 30, 300, 0, burn_in=60)
    thinned = simulate_store(grocer(), 30, 300, 0, burn_in=60, kept=0.4)
    slots = np.unique(thinned.customer % 300)
    assert 0.3 < slots.size / np.unique(whole.customer % 300).size < 0.5
    rows = np.isin(whole.customer % 300, slots)
    for column in ("customer", "day", "product", "units", "paid"):  # the kept slots' lines, drawn as in the whole
        assert np.array_equal(getattr(thinned, column), getattr(whole, column)[rows]), column
    more = simulate_store(grocer(), 30, 300, 0, burn_in=60, kept=0.7)
    assert set(slots) <= set(np.unique(more.customer % 300))  # a larger share keeps a superset


def test_discounts_at_the_till_lower_what_some_lines_pay_and_not_the_shelf():
    policy = StorePolicy(discount_chance=0.0, checkout_chance=0.3, checkout_depth=0.2)
    paid = policy.checkout(np.random.default_rng(0), 20_000)
    assert abs((paid < 1).mean() - 0.3) < 0.01 and abs((1 - paid[paid < 1]).mean() - 0.2) < 0.012
    assert np.array_equal(StorePolicy().checkout(np.random.default_rng(0), 5), np.ones(5))
    plain = simulate_store(grocer(), 30, 300, 0, StorePolicy(discount_chance=0.0), burn_in=30)
    log = simulate_store(grocer(), 30, 300, 0, policy, burn_in=30)
    np.testing.assert_array_equal(log.units, plain.units)  # the same choices: the till comes after them
    cut = log.unit_price < 0.98 * log.regular_price
    assert abs(cut.mean() - 0.3) < 0.05 and np.all(log.paid <= plain.paid + 1e-9)
