"""The transaction log, its statistics and the reference-price regression, on small logs made here."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from shopgym.calibration.fidelity import bootstrap_statistics, compare, resampled_values
from shopgym.calibration.reference_prices import fit_category_response, fit_price_response, fit_reference_price
from shopgym.calibration.transaction_log import TransactionLog, regular_prices
from shopgym.calibration.transactions import TRANSACTION_STATISTICS
from shopgym.datasets import Transactions
from shopgym.params import ParameterError

ORIGIN = np.datetime64("2000-11-01")
STATISTICS = {statistic.name: statistic for statistic in TRANSACTION_STATISTICS}


def make_log(rows: list[tuple[int, int, int, int, int, float, float]]) -> TransactionLog:
    """Rows of (customer, day, product, category, units, paid, cost)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * 7
    ints = [np.array(column, dtype=np.int64) for column in columns[:5]]
    floats = [np.array(column, dtype=np.float64) for column in columns[5:]]
    return TransactionLog(*ints, *floats, origin=ORIGIN)


# customer 1 visits on days 0, 3 and 40 (a 10 % discount on day 40), customer 2 once on day 5 (product 30 sold
# below its ASSET), customer 3 on days 10 and 20.
TINY = make_log(
    [
        (1, 0, 10, 1, 1, 10.0, 8.0),
        (1, 0, 20, 2, 2, 40.0, 30.0),
        (1, 3, 10, 1, 1, 10.0, 8.0),
        (1, 40, 10, 1, 2, 18.0, 16.0),
        (2, 5, 20, 2, 1, 20.0, 15.0),
        (2, 5, 30, 3, 1, 5.0, 6.0),
        (3, 10, 10, 1, 1, 10.0, 8.0),
        (3, 20, 20, 2, 1, 20.0, 15.0),
    ]
)
TINY_EXPECTED = {
    "visits per customer": 2.0,
    "customers with one visit (share)": 1 / 3,
    "days between visits (median)": 10.0,
    "days between visits (mean)": 50 / 3,
    "gaps of at most 7 days (share)": 1 / 3,
    "gaps of one day (share)": 0.0,  # gaps of 3, 37 and 10 days
    "customers of the first 30 days back later (share)": 1 / 3,
    "lines per visit": 8 / 6,
    "lines per visit (sd)": float(np.std([2, 1, 1, 2, 1, 1])),
    "lines per visit a day after the last": float("nan"),  # no gap of one day
    # one customer with three visits: too few
    "days between visits vs lines per visit, across customers (rank correlation)": float("nan"),
    "units per line": 10 / 8,
    "units per discounted line": 2.0,  # product 10 on day 40
    "spend per visit (median)": 19.0,  # visits spend 50, 10, 18, 25, 10, 20
    "unit price (median)": 10.0,  # unit prices 5, 9, 10, 10, 10, 20, 20, 20
    "unit price p75 / p25": 20 / 9.75,
    "lines discounted > 2 % below regular (share)": 1 / 8,
    "discount depth (mean, discounted lines)": 0.1,
    "discounted days of sale in a row (mean)": 1.0,  # product 10's days of sale 0, 3, 10 at 10 and 40 at 9
    "spend in the top 10 categories (share)": 1.0,
    "gross margin (products priced above ASSET)": 1 - 100 / 128,  # product 30 (ASSET 6 > price 5) left out
    "lines paid below ASSET (share)": 1 / 8,
    "products sold per customer": 1.0,  # products 10, 20, 30 of customers 1, 2, 3
    "lines of the top 10 % of products (share)": 4 / 8,  # one product of three: product 10, 4 lines
    "lines > 2 % above regular (share)": 0.0,
    "discounted lines beside a regular-price line (share)": 0.0,  # product 10 sold only at 9 on day 40
    "discount depth (mean, lines beside a regular-price line)": float("nan"),
    "price rise (mean, lines above regular)": float("nan"),  # no line above its regular price
    "lines above regular of the top 10 % of products (share)": float("nan"),
}


def test_every_statistic_on_a_tiny_log_has_its_known_value() -> None:
    assert set(TINY_EXPECTED) == set(STATISTICS)
    for name, expected in TINY_EXPECTED.items():
        assert STATISTICS[name].compute(TINY) == pytest.approx(expected, nan_ok=True), name


def test_gaps_of_one_day_are_a_share_of_all_gaps() -> None:
    # customer 1 visits on days 0, 1, 2 and 4, customer 2 on days 3 and 11: gaps 1, 1, 2 and 8
    log = make_log([(1, d, 10, 1, 1, 10.0, 8.0) for d in (0, 1, 2, 4)] + [(2, d, 10, 1, 1, 10.0, 8.0) for d in (3, 11)])
    assert STATISTICS["gaps of one day (share)"].compute(log) == pytest.approx(0.5)


def test_lines_a_day_after_the_last_visit_average_over_quick_trips_only() -> None:
    # customer 1 visits on days 0 (3 lines), 1 (1 line), 2 (2 lines) and 5 (4 lines); customer 2 on day 1 (2 lines),
    # the day after customer 1's first visit, which is no trip back
    rows = [(1, 0, p, 1, 1, 10.0, 8.0) for p in (1, 2, 3)] + [(1, 1, 1, 1, 1, 10.0, 8.0)]
    rows += [(1, 2, p, 1, 1, 10.0, 8.0) for p in (1, 2)] + [(1, 5, p, 1, 1, 10.0, 8.0) for p in (1, 2, 3, 4)]
    rows += [(2, 1, p, 1, 1, 10.0, 8.0) for p in (1, 2)]
    assert STATISTICS["lines per visit a day after the last"].compute(make_log(rows)) == pytest.approx(1.5)


def test_gap_basket_correlation_ranks_customers_with_three_visits_or_more() -> None:
    # customers 1–4 visit every 2, 5, 9 and 20 days, three times, with 1, 2, 4 and 3 lines a visit; customer 5 visits
    # twice (left out) with 9 lines a visit every day
    rows = []
    for customer, (every, lines) in enumerate([(2, 1), (5, 2), (9, 4), (20, 3)], start=1):
        rows += [(customer, k * every, p, 1, 1, 10.0, 8.0) for k in range(3) for p in range(lines)]
    rows += [(5, d, p, 1, 1, 10.0, 8.0) for d in (0, 1) for p in range(9)]
    name = "days between visits vs lines per visit, across customers (rank correlation)"
    assert STATISTICS[name].compute(make_log(rows)) == pytest.approx(0.8)  # ranks 1 2 3 4 against 1 2 4 3
    same_baskets = make_log([(c, 3 * k * c, 1, 1, 1, 10.0, 8.0) for c in (1, 2, 3) for k in range(3)])
    assert np.isnan(STATISTICS[name].compute(same_baskets))


def test_discount_spells_count_consecutive_days_of_sale_below_the_regular_price() -> None:
    # product 1 sells at 10 on days 0, 3 and 9, at 8 on days 1, 2 (one spell of 2) and 5 (a spell of 1);
    # product 2 sells at 5 on days 0 and 1 and at 4 on day 2 (a spell of 1)
    prices = {(1, 0): 10, (1, 1): 8, (1, 2): 8, (1, 3): 10, (1, 5): 8, (1, 9): 10, (2, 0): 5, (2, 1): 5, (2, 2): 4}
    prices |= {(1, 10): 10, (1, 11): 10}  # 10 stays the regular price of product 1
    log = make_log([(0, day, product, 1, 1, float(price), 1.0) for (product, day), price in prices.items()])
    assert STATISTICS["discounted days of sale in a row (mean)"].compute(log) == pytest.approx(4 / 3)


def test_rises_of_the_top_products_are_counted_among_all_lines_above_regular() -> None:
    # product 0 (the top 10 % of ten products) sells 3 lines at 10 and 2 at 12, product 1 two at 10 and one at 12,
    # products 2 … 9 one line each: two of the three lines above regular are product 0's
    prices = [(0, 10.0)] * 3 + [(0, 12.0)] * 2 + [(1, 10.0)] * 2 + [(1, 12.0)] + [(p, 5.0) for p in range(2, 10)]
    log = make_log([(k, 0, product, 1, 1, price, 1.0) for k, (product, price) in enumerate(prices)])
    assert STATISTICS["lines above regular of the top 10 % of products (share)"].compute(log) == pytest.approx(2 / 3)
    assert STATISTICS["lines of the top 10 % of products (share)"].compute(log) == pytest.approx(5 / 16)


def test_shares_are_shown_as_percent() -> None:
    assert STATISTICS["lines paid below ASSET (share)"].percent
    assert not STATISTICS["lines per visit"].percent


def test_top_category_share_counts_only_the_ten_biggest_categories() -> None:
    log = make_log([(1, 0, c, c, 1, 10.0 if c == 0 else 1.0, 0.5) for c in range(11)])
    assert STATISTICS["spend in the top 10 categories (share)"].compute(log) == pytest.approx(19 / 20)


def test_regular_price_is_the_most_frequent_unit_price_ties_to_the_highest() -> None:
    product = np.array([1, 1, 1, 1, 2, 2, 2])
    price = np.array([10.0, 10.0, 12.0, 12.0, 5.0, 4.0, 4.000000001])
    assert regular_prices(product, price).tolist() == [12.0] * 4 + [4.0] * 3


def test_statistics_are_nan_where_undefined() -> None:
    one_visit_each = make_log([(1, 0, 10, 1, 1, 10.0, 8.0), (2, 3, 10, 1, 1, 10.0, 8.0)])
    empty = make_log([])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("days between visits (median)", "days between visits (mean)", "gaps of at most 7 days (share)"):
            assert np.isnan(STATISTICS[name].compute(one_visit_each)), name
        # a log of 3 days has no "later than the first 30 days"; no line is discounted
        assert np.isnan(STATISTICS["customers of the first 30 days back later (share)"].compute(one_visit_each))
        assert np.isnan(STATISTICS["discount depth (mean, discounted lines)"].compute(one_visit_each))
        for statistic in TRANSACTION_STATISTICS:
            assert np.isnan(statistic.compute(empty)), statistic.name


def test_resample_keeps_each_customers_rows_together_and_relabels_repeats() -> None:
    rng = np.random.default_rng(1)
    customers, rows = 30, []
    for customer in range(customers):
        for line in range(int(rng.integers(1, 5))):
            rows.append((100 + customer, line, line, 0, 1, float(1000 * customer + line), 1.0))
    log = make_log(rows)
    by_customer = {c: sorted(log.paid[log.customer == c].tolist()) for c in np.unique(log.customer)}
    resampled = log.resample(np.random.default_rng(0))
    labels = np.unique(resampled.customer)
    assert labels.tolist() == list(range(customers))  # as many customers as the log has, relabelled
    sources = []
    for label in labels:
        paid = sorted(resampled.paid[resampled.customer == label].tolist())
        source = 100 + int(paid[0] // 1000)
        assert paid == by_customer[source]  # all of one customer's rows, nothing else
        sources.append(source)
    assert len(set(sources)) < customers  # some customer was drawn twice and became two customers
    assert len(resampled) == sum(len(by_customer[s]) for s in sources)


def test_resample_by_product_or_category_keeps_their_rows_together_and_relabels_repeats() -> None:
    rng = np.random.default_rng(2)
    units = [(category, 10 * category + product) for category in range(8) for product in range(int(rng.integers(1, 4)))]
    lines = [unit for unit in units for _ in range(int(rng.integers(1, 6)))]
    # paid = the row's index, so a resampled row names its source row
    log = make_log([(int(rng.integers(0, 50)), 0, p, c, 1, float(k), 1.0) for k, (c, p) in enumerate(lines)])
    for unit in ("product", "category"):
        column = getattr(log, unit)
        ids = np.unique(column)
        resampled = log.resample(np.random.default_rng(0), unit)
        labels = getattr(resampled, unit)
        assert np.unique(labels).tolist() == list(range(ids.size))  # as many units as the log has, relabelled
        sources = []
        for label in range(ids.size):
            rows = resampled.paid[labels == label].astype(int)
            [source] = np.unique(column[rows])
            assert sorted(rows) == np.flatnonzero(column == source).tolist()  # all of one unit's rows, nothing else
            sources.append(source)
        assert len(set(sources)) < ids.size  # some unit was drawn twice and became two
    # by category, a category drawn twice has products of its own: no product spans two categories
    by_category = log.resample(np.random.default_rng(0), "category")
    pairs = np.unique(np.column_stack([by_category.product, by_category.category]), axis=0)
    assert np.unique(pairs[:, 0]).size == pairs.shape[0]
    with pytest.raises(ParameterError, match="unit = 'visit': allowed customer, product, category"):
        log.resample(np.random.default_rng(0), "visit")


def test_product_statistics_are_bootstrapped_by_product() -> None:
    """A customer bootstrap shifts a statistic of products' regular prices: each product here sells once at 10 and
    once at 8 to two customers, so half the lines are discounted (a tie goes to the higher price), but a resample
    that draws one of the two customers more often moves the product's regular price. By product, every resample
    keeps the product's lines, and the estimate is inside its interval."""
    log = make_log([(2 * p + k, 0, p, 0, 1, 10.0 - 2 * k, 5.0) for p in range(200) for k in (0, 1)])
    share = STATISTICS["lines discounted > 2 % below regular (share)"]
    assert share.unit == "product"
    [(value, (low, high))] = bootstrap_statistics([share], log, bootstrap=100)
    assert value == 0.5 and low <= value <= high
    [(value, (low, high))] = bootstrap_statistics([replace(share, unit=None)], log, bootstrap=100)
    assert high < value  # by customer the interval lies below the log's own value


def test_resampled_values_draw_each_unit_in_turn_and_fix_what_is_not_resamplable() -> None:
    rng = np.random.default_rng(3)
    log = make_log(
        [(int(rng.integers(0, 40)), int(rng.integers(0, 30)), p, 0, 1, float(rng.choice([8, 10])), 5.0)
         for p in range(30) for _ in range(6)]
    )  # fmt: skip
    visits, share = STATISTICS["visits per customer"], STATISTICS["lines discounted > 2 % below regular (share)"]
    fixed = STATISTICS["products sold per customer"]
    values = resampled_values([visits, share, fixed], log, 30, np.random.default_rng(0))
    # the log's default unit (customers) draws first, so its statistics do not move when others stand beside them
    assert np.array_equal(values[:, 0], resampled_values([visits], log, 30, np.random.default_rng(0))[:, 0])
    draws = np.random.default_rng(0)
    by_customer = [visits.compute(log.resample(draws)) for _ in range(30)]
    by_product = [share.compute(log.resample(draws, "product")) for _ in range(30)]
    assert values[:, 0].tolist() == by_customer and values[:, 1].tolist() == by_product
    assert (values[:, 2] == fixed.compute(log)).all()  # no interval: the log's own value in every row


def test_compare_bootstraps_a_transaction_log_by_customer() -> None:
    rows = compare(TRANSACTION_STATISTICS, TINY, [TINY, TINY], bootstrap=30)
    visits = {row.statistic: row for row in rows}["visits per customer"]
    assert visits.real == visits.simulated == 2.0
    assert 1.0 <= visits.real_ci[0] < visits.real_ci[1] <= 3.0  # customers with 1, 2 and 3 visits


def test_between_keeps_the_window_inclusive_and_moves_the_origin() -> None:
    window = TINY.between("2000-11-04", np.datetime64("2000-11-11"))  # days 3 to 10
    assert window.origin == np.datetime64("2000-11-04")
    assert sorted(window.day.tolist()) == [0, 2, 2, 7]
    assert sorted((window.origin + window.day).tolist()) == sorted(
        (ORIGIN + TINY.day[(TINY.day >= 3) & (TINY.day <= 10)]).tolist()
    )
    assert len(TINY.between("2000-11-01", "2000-12-31")) == len(TINY)


def test_between_an_empty_or_reversed_window_is_refused() -> None:
    with pytest.raises(ParameterError, match="no transactions between 2001-03-01 and 2001-03-31"):
        TINY.between("2001-03-01", "2001-03-31")
    with pytest.raises(ParameterError, match="last_day = 2000-11-01 is before first_day = 2000-11-05"):
        TINY.between("2000-11-05", "2000-11-01")


def test_of_reads_transactions_with_day_zero_at_the_first_date() -> None:
    dates = np.array(["2000-11-03", "2000-11-01", "2000-12-01"], dtype="datetime64[D]")
    transactions = Transactions(
        date=dates,
        customer_id=np.array([5, 5, 6]),
        age_group=np.array(["", "", ""]),
        pin_code=np.array(["", "", ""]),
        product_subclass=np.array([1, 1, 2]),
        product_id=np.array([7, 7, 8]),
        amount=np.array([2, 1, 1]),
        asset=np.array([10.0, 5.0, 3.0]),
        sales_price=np.array([12.0, 6.0, 4.0]),
    )
    log = TransactionLog.of(transactions)
    assert log.origin == np.datetime64("2000-11-01")
    assert log.day.tolist() == [2, 0, 30]
    assert log.unit_price.tolist() == [6.0, 6.0, 4.0]
    empty = Transactions(*(column[:0] for column in vars(transactions).values()))
    with pytest.raises(ParameterError, match="transactions are empty"):
        TransactionLog.of(empty)


def test_bad_logs_are_refused_naming_the_field() -> None:
    with pytest.raises(ParameterError, match="units = 0"):
        make_log([(1, 0, 10, 1, 0, 10.0, 8.0)])
    with pytest.raises(ParameterError, match="paid = -1.0"):
        make_log([(1, 0, 10, 1, 1, -1.0, 8.0)])
    with pytest.raises(ParameterError, match="day has 1 rows, customer 2"):
        TransactionLog(*(np.zeros(2, np.int64), np.zeros(1, np.int64)), *(np.ones(2),) * 5, origin=ORIGIN)
    with pytest.raises(ParameterError, match="empty: nothing to resample"):
        make_log([]).resample(np.random.default_rng(0))


# ------------------------------------------------------------------------------------- reference-price regression
TRUTH = {"price_elasticity": -1.5, "gain": 2.0, "loss": -4.0}


def synthetic_log(
    seed: int, products: int = 40, days: int = 50, noise: float = 0.1, rho: float = 0.0, change: float = 1.0
) -> TransactionLog:
    """Every product sells every day, as two lines at one price; log units follow the regression with TRUTH.
    A product's price is redrawn on a day with probability ``change`` (regular 60 %, a discount of 5–30 %, a raise
    of 5–20 %); its errors are AR(1) with correlation ``rho``."""
    rng = np.random.default_rng(seed)
    regular = rng.integers(10, 100, products).astype(np.float64)
    level = rng.uniform(np.log(300), np.log(3000), products)
    factor, reference, error = np.ones(products), None, rng.normal(0, noise, products)
    rows = []
    for day in range(days):
        redraw = rng.random(products) < change
        kind = rng.random(products)
        new = np.where(
            kind < 0.6,
            1.0,
            np.where(kind < 0.85, 1 - rng.uniform(0.05, 0.3, products), 1 + rng.uniform(0.05, 0.2, products)),
        )
        factor = np.where(redraw, new, factor)
        price = np.round(regular * factor, 2)
        reference = price if reference is None else reference
        error = rho * error + np.sqrt(1 - rho**2) * rng.normal(0, noise, products)
        mean = (
            level
            + TRUTH["price_elasticity"] * np.log(price / regular)
            + TRUTH["gain"] * np.maximum(reference - price, 0) / reference
            + TRUTH["loss"] * np.maximum(price - reference, 0) / reference
            + error
        )
        units = np.maximum(2, np.round(np.exp(mean))).astype(np.int64)
        for p in range(products):
            half = int(units[p]) // 2
            for share in (half, int(units[p]) - half):
                rows.append((int(rng.integers(0, 500)), day, p, p % 7, share, share * price[p], 0.5 * share * price[p]))
        reference = 0.7 * reference + 0.3 * price
    return make_log(rows)


def test_reference_price_regression_recovers_known_coefficients() -> None:
    fit = fit_reference_price(synthetic_log(0))
    assert (fit.products, fit.product_days) == (40, 40 * 49)  # the first day of each product has no reference
    for name, truth in TRUTH.items():
        estimate = getattr(fit, name)
        assert estimate.low <= truth <= estimate.high, name
        assert estimate.high - estimate.low < 1.0, name
    loss_aversion = -TRUTH["loss"] - TRUTH["gain"]
    assert fit.loss_aversion.low <= loss_aversion <= fit.loss_aversion.high
    assert fit.loss_aversion.low > 0  # |loss| > gain is detected


def test_reference_price_intervals_cover_the_truth() -> None:
    covered = {name: 0 for name in TRUTH}
    for seed in range(20):
        fit = fit_reference_price(synthetic_log(100 + seed, products=25, days=30))
        for name, truth in TRUTH.items():
            covered[name] += getattr(fit, name).low <= truth <= getattr(fit, name).high
    assert min(covered.values()) >= 16, covered  # 19 of 20 expected


def test_clustered_errors_are_larger_than_naive_when_errors_are_correlated_within_product() -> None:
    correlated = fit_reference_price(synthetic_log(3, rho=0.95, change=0.15, noise=0.3))
    ratio = np.array(correlated.clustered_se) / np.array(correlated.naive_se)
    assert (ratio > 1.5).all(), ratio
    independent = fit_reference_price(synthetic_log(3))  # the contrast: independent errors, similar errors
    assert (np.array(independent.clustered_se) / np.array(independent.naive_se) < 1.5).all()


def test_reference_price_regression_refuses_bad_input() -> None:
    with pytest.raises(ParameterError, match="transaction log is empty"):
        fit_reference_price(make_log([]))
    with pytest.raises(ParameterError, match="memory = 1"):
        fit_reference_price(TINY, memory=1.0)
    with pytest.raises(ParameterError, match="min_days = 5: fewer than 2 products"):
        fit_reference_price(TINY, min_days=5)
    steady = make_log(
        [(1, d, p, 0, 1 + (d * p) % 3, 10.0 * (1 + (d * p) % 3), 1.0) for d in range(5) for p in range(3)]
    )
    with pytest.raises(ParameterError, match="prices do not move"):
        fit_reference_price(steady, min_days=2)


def slopes_log(seed: int, below: float, above: float | None, products: int = 40, days: int = 50) -> TransactionLog:
    """Every product sells every day at its regular price (60 % of days), a discount of 5–30 % or (unless
    ``above`` is None) a rise of 5–20 %; log units = level + below·min(log P/regular, 0) + above·max(…, 0) + noise."""
    rng = np.random.default_rng(seed)
    regular = rng.integers(10, 100, products).astype(np.float64)
    level = rng.uniform(np.log(300), np.log(3000), products)
    rows = []
    for day in range(days):
        kind = rng.random(products)
        rise = 1 + rng.uniform(0.05, 0.2, products) if above is not None else np.ones(products)
        factor = np.where(kind < 0.6, 1.0, np.where(kind < 0.85, 1 - rng.uniform(0.05, 0.3, products), rise))
        price = np.round(regular * factor, 2)
        relative = np.log(price / regular)
        mean = level + below * np.minimum(relative, 0) + (above or 0.0) * np.maximum(relative, 0)
        units = np.round(np.exp(mean + rng.normal(0, 0.1, products))).astype(np.int64)
        rows += [(int(rng.integers(0, 500)), day, p, 0, int(units[p]), units[p] * price[p], 0.5 * units[p] * price[p])
                 for p in range(products)]  # fmt: skip
    return make_log(rows)


def test_price_response_recovers_the_slopes_below_and_above_the_regular_price() -> None:
    fit = fit_price_response(slopes_log(0, below=-0.8, above=-3.3))
    assert (fit.products, fit.product_days) == (40, 40 * 50)
    for estimate, truth in ((fit.below, -0.8), (fit.above, -3.3)):
        assert estimate.low <= truth <= estimate.high and estimate.high - estimate.low < 0.5
    only_discounts = fit_price_response(slopes_log(1, below=-2.0, above=None))
    assert only_discounts.below.low <= -2.0 <= only_discounts.below.high
    assert np.isnan(only_discounts.above.value)  # no day above the regular price: nothing to fit
    with pytest.raises(ParameterError, match="transaction log is empty"):
        fit_price_response(make_log([]))
    steady = make_log(
        [(1, d, p, 0, 1 + (d * p) % 3, 10.0 * (1 + (d * p) % 3), 1.0) for d in range(5) for p in range(3)]
    )
    with pytest.raises(ParameterError, match="prices do not move within products"):
        fit_price_response(steady, min_days=2)


def category_log(seed: int, below: float, above: float, categories: int = 30, days: int = 40) -> TransactionLog:
    """Lines of ``categories`` categories of 4 products over ``days`` days, 200 customers a day: on a day a category
    is at its regular prices (60 %), 5–30 % off (25 %) or 5–20 % above; its lines that day are Poisson with log
    mean level + below·min(log P/regular, 0) + above·max(…, 0)."""
    rng = np.random.default_rng(seed)
    regular = rng.integers(10, 100, (categories, 4)).astype(np.float64)
    level = rng.uniform(np.log(5), np.log(40), categories)
    rows = []
    for day in range(days):
        kind = rng.random(categories)
        factor = np.where(kind < 0.6, 1.0, np.where(kind < 0.85, 1 - rng.uniform(0.05, 0.3, categories),
                                                    1 + rng.uniform(0.05, 0.2, categories)))  # fmt: skip
        relative = np.log(factor)
        lines = rng.poisson(np.exp(level + below * np.minimum(relative, 0) + above * np.maximum(relative, 0)))
        customers = rng.permutation(200)  # every one of them visits: each day's first 200 lines go one to each
        for c in range(categories):
            for k in range(lines[c]):
                price = round(regular[c, k % 4] * factor[c], 2)
                rows.append((int(customers[(c + k) % 200]), day, 4 * c + k % 4, c, 1, price, 0.5 * price))
        rows += [(int(customer), day, 4 * categories, categories, 1, 1.0, 0.5) for customer in customers]
    return make_log(rows)


def test_category_response_tells_lines_added_by_a_discount_from_lines_drawn_to_it() -> None:
    added = fit_category_response(category_log(0, below=-1.5, above=-2.0))
    for estimate, truth in ((added.below, -1.5), (added.above, -2.0)):
        assert estimate.low <= truth <= estimate.high and estimate.high - estimate.low < 1.0
    drawn = fit_category_response(category_log(1, below=0.0, above=0.0))
    assert drawn.below.low <= 0.0 <= drawn.below.high and drawn.below.low > -0.6
    assert drawn.products == 31  # the 30 categories and the one every customer buys from at its one price
    with pytest.raises(ParameterError, match="transaction log is empty"):
        fit_category_response(make_log([]))


def test_a_discount_at_the_till_shows_beside_regular_price_lines_of_the_day() -> None:
    shelf = [(c, d, 5, 0, 1, 10.0 if d < 3 else 9.0, 5.0) for d in range(4) for c in (1, 2)]  # day 3: all at 9
    till = [(c, d, 6, 0, 1, 8.0 if c == 1 else 10.0, 5.0) for d in range(4) for c in (1, 2)]  # customer 1 pays 8
    statistic = STATISTICS["discounted lines beside a regular-price line (share)"]
    assert statistic.compute(make_log(shelf)) == 0.0
    assert statistic.compute(make_log(till)) == 1.0
    assert statistic.compute(make_log(shelf + till)) == pytest.approx(4 / 6)
    depth = STATISTICS["discount depth (mean, lines beside a regular-price line)"]
    assert depth.compute(make_log(shelf + till)) == pytest.approx(0.2)  # the till's 8 against 10, not the shelf's 9


def test_price_rises_show_as_lines_above_the_regular_price() -> None:
    log = make_log([(1, d, 5, 0, 1, 10.0, 5.0) for d in range(4)] + [(2, 4, 5, 0, 2, 26.0, 10.0)])
    assert STATISTICS["lines > 2 % above regular (share)"].compute(log) == pytest.approx(1 / 5)
    assert STATISTICS["price rise (mean, lines above regular)"].compute(log) == pytest.approx(0.3)  # 13 against 10
