"""The statistics of a transaction log (:class:`~shopgym.calibration.transaction_log.TransactionLog`): visits,
gaps, retention, baskets, prices, discounts and rises, the till, concentration and margins
(:data:`TRANSACTION_STATISTICS`), as the fidelity report and the calibration read them.

**ASSET.** Ta Feng documents ASSET as the cost to the shop. SALES_PRICE and ASSET are both line totals (they
scale with AMOUNT). ASSET per unit is constant within a product while the price paid moves, as a cost would, and
is 85 % of spend overall; but it exceeds the price paid on 7.6 % of lines, and on a few best sellers (1.2 % of
products, 10 % of lines) it exceeds the product's regular price, so they are either loss leaders or their ASSET
is not what they cost. The margin statistic therefore leaves those products out: it is 1 − Σ ASSET / Σ paid over
the lines of products whose mean ASSET per unit is at most their regular price; the share of lines paid below
their ASSET is a statistic of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from shopgym.calibration.fidelity import Statistic
from shopgym.calibration.transaction_log import DISCOUNT_THRESHOLD, TransactionLog, group_rows, product_days

__all__ = [
    "TRANSACTION_STATISTICS",
    "customer_means",
    "discounted_lines",
    "raised_lines",
    "retention_curve",
    "visit_gaps",
]


NAN = float("nan")


def _summary(values: np.ndarray, how: Callable[[np.ndarray], float] = np.mean) -> float:
    """``how`` of the values, nan when there are none."""
    return float(how(values)) if values.size else NAN


def _visits_per_customer(log: TransactionLog) -> float:
    customer = log.visits[1]
    return customer.size / np.unique(customer).size if customer.size else NAN


def visit_gaps(log: TransactionLog) -> np.ndarray:
    """Days between consecutive visits of a customer."""
    _, customer, day = log.visits
    return np.diff(day)[customer[1:] == customer[:-1]]


def _lines_a_day_later(log: TransactionLog) -> float:
    """Mean lines of the visits that come a day after the customer's previous one (a quick trip back)."""
    visit, customer, day = log.visits
    quick = np.flatnonzero((np.diff(day) == 1) & (customer[1:] == customer[:-1])) + 1
    return _summary(np.bincount(visit)[quick])


def customer_means(log: TransactionLog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer of ``log`` (in order of id), arrays [customers]: visits, mean days between visits (0 with one
    visit) and mean lines per visit."""
    visit, customer, day = log.visits
    ids, first, count = np.unique(customer, return_index=True, return_counts=True)
    last = first + count - 1
    mean_gap = (day[last] - day[first]) / np.maximum(count - 1, 1)
    mean_lines = np.bincount(np.searchsorted(ids, customer[visit]), minlength=ids.size) / count
    return count, mean_gap, mean_lines


def _gap_basket_correlation(log: TransactionLog, visits: int = 3) -> float:
    """Across the customers with at least ``visits`` visits, the rank correlation of their mean days between visits
    with their mean lines per visit: positive where those who come often buy less each time (nan with fewer than
    three such customers, or where either mean is the same for all)."""
    count, mean_gap, mean_lines = customer_means(log)
    repeat = count >= visits
    if repeat.sum() < 3:
        return NAN
    gap, lines = mean_gap[repeat], mean_lines[repeat]
    if np.ptp(gap) == 0 or np.ptp(lines) == 0:
        return NAN
    return float(stats.spearmanr(gap, lines)[0])


def retention_curve(log: TransactionLog, days: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Of the customers active in the log's first ``days`` days, the share seen again on or after each later day:
    the days (counted from the log's first) and the shares (both empty when the log is no longer than ``days``)."""
    if not len(log):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    day = log.day - log.day.min()
    early = np.unique(log.customer[day < days])
    last = np.full(early.size, -1)
    rows = np.isin(log.customer, early)
    np.maximum.at(last, np.searchsorted(early, log.customer[rows]), day[rows])
    after = np.arange(days, int(day.max()) + 1)
    return after, (last[None, :] >= after[:, None]).mean(axis=1)


def _retention(log: TransactionLog, days: int = 30) -> float:
    """Share of the customers active in the log's first ``days`` days who visit again later (nan when the log is
    no longer than ``days`` days)."""
    return float(retention_curve(log, days)[1][0]) if len(log) and log.day.max() - log.day.min() >= days else NAN


def _price_spread(log: TransactionLog) -> float:
    """p75 / p25 of the unit price (nan when p25 is 0)."""
    low, high = np.percentile(log.unit_price, [25, 75]) if len(log) else (0.0, NAN)
    return float(high / low) if low > 0 else NAN


def discounted_lines(log: TransactionLog) -> np.ndarray:
    """[R] whether each line sold more than :data:`DISCOUNT_THRESHOLD` below its product's regular price."""
    return log.unit_price < (1 - DISCOUNT_THRESHOLD) * log.regular_price


def raised_lines(log: TransactionLog) -> np.ndarray:
    """[R] whether each line sold more than :data:`DISCOUNT_THRESHOLD` above its product's regular price."""
    return log.unit_price > (1 + DISCOUNT_THRESHOLD) * log.regular_price


def _distance_from_regular(log: TransactionLog, rows: np.ndarray) -> float:
    """Mean of |unit price / regular price − 1| over ``rows``: the depth of discounted lines, the rise of raised
    ones."""
    return _summary(np.abs(log.unit_price[rows] / log.regular_price[rows] - 1))


def _beside_regular(log: TransactionLog) -> np.ndarray:
    """[R] whether each line is discounted and sold on a product-day on which another line paid the regular price
    (a discount at the till, not on the shelf, which every buyer of the day would pay)."""
    cut = discounted_lines(log)
    if not cut.any():
        return cut
    order, starts = group_rows(log.day, log.product)  # the lines of each product-day together
    regular_paid = np.zeros(cut.size, dtype=bool)
    regular_paid[order] = np.repeat(np.logical_or.reduceat(~cut[order], starts[:-1]), np.diff(starts))
    return cut & regular_paid


def _mixed_days(log: TransactionLog) -> float:
    """Share of the discounted lines sold beside a regular-price line of the same product and day."""
    cut = discounted_lines(log)
    return float(_beside_regular(log).sum() / cut.sum()) if cut.any() else NAN


def _discount_spell(log: TransactionLog) -> float:
    """Mean length of a product's runs of consecutive days of sale below its regular price (in days of sale)."""
    if not len(log):
        return NAN
    days = product_days(log)
    cut = days.price < (1 - DISCOUNT_THRESHOLD) * days.regular
    begins = cut & (days.first | ~np.append(False, cut[:-1]))
    return float(cut.sum() / begins.sum()) if begins.any() else NAN


def _top_products(log: TransactionLog, top: float = 0.1) -> np.ndarray:
    """[R] whether each line's product is among the ``top`` share of the products sold (the log's most sold, by
    lines; ties broken by product id)."""
    products, index, lines = np.unique(log.product, return_inverse=True, return_counts=True)
    best = np.lexsort((products, -lines))[: max(1, round(top * products.size))]
    return np.isin(index, best)


def _top_product_share(log: TransactionLog) -> float:
    """Share of the lines sold by the top 10 % of the products sold."""
    return _summary(_top_products(log))


def _top_product_rises(log: TransactionLog) -> float:
    """Share of the lines above the regular price sold by the top 10 % of the products sold."""
    return _summary(_top_products(log)[raised_lines(log)])


def _top_category_share(log: TransactionLog, top: int = 10) -> float:
    spend = np.sort(np.bincount(np.unique(log.category, return_inverse=True)[1], weights=log.paid))[::-1]
    return float(spend[:top].sum() / spend.sum()) if spend.sum() > 0 else NAN


def _margin(log: TransactionLog) -> float:
    """1 − Σ cost / Σ paid over the lines of products whose mean cost per unit is at most their regular price."""
    if not len(log):
        return NAN
    index = np.unique(log.product, return_inverse=True)[1]
    unit_cost = np.bincount(index, weights=log.cost / log.units) / np.bincount(index)
    rows = unit_cost[index] <= log.regular_price
    paid = log.paid[rows].sum()
    return float(1 - log.cost[rows].sum() / paid) if paid > 0 else NAN


#: How far a simulated value may lie from the real one and still count as within, besides overlapping intervals:
#: a share of the real value for the log's statistics, an amount for the regression's coefficients.
RELATIVE_TOLERANCE = 0.10
COEFFICIENT_TOLERANCE = 0.5


def _statistic(
    name: str,
    compute: Callable[[TransactionLog], float],
    percent: bool = False,
    resamplable: bool = True,
    unit: str | None = None,
) -> Statistic:
    return Statistic(name, compute, percent, tolerance=RELATIVE_TOLERANCE, resamplable=resamplable, unit=unit)


def _of_products(name: str, compute: Callable[[TransactionLog], float], percent: bool = False) -> Statistic:
    """A statistic of products' prices or sales (their regular price, days of sale, share of lines): bootstrapped
    by product, since a resample of customers changes a product's regular price and days, which shifts it."""
    return _statistic(name, compute, percent, unit="product")


TRANSACTION_STATISTICS: tuple[Statistic[TransactionLog], ...] = (
    _statistic("visits per customer", _visits_per_customer),
    _statistic(
        "customers with one visit (share)",
        lambda log: _summary(np.unique(log.visits[1], return_counts=True)[1] == 1),
        percent=True,
    ),
    _statistic("days between visits (median)", lambda log: _summary(visit_gaps(log), np.median)),
    _statistic("days between visits (mean)", lambda log: _summary(visit_gaps(log))),
    _statistic("gaps of at most 7 days (share)", lambda log: _summary(visit_gaps(log) <= 7), percent=True),
    _statistic("gaps of one day (share)", lambda log: _summary(visit_gaps(log) == 1), percent=True),
    _statistic("customers of the first 30 days back later (share)", _retention, percent=True),
    _statistic("lines per visit", lambda log: len(log) / log.visits[1].size if len(log) else NAN),
    _statistic("lines per visit (sd)", lambda log: _summary(np.bincount(log.visits[0]), np.std)),
    _statistic("lines per visit a day after the last", _lines_a_day_later),
    _statistic("days between visits vs lines per visit, across customers (rank correlation)", _gap_basket_correlation),
    _statistic("units per line", lambda log: _summary(log.units)),
    _statistic("units per discounted line", lambda log: _summary(log.units[discounted_lines(log)])),
    _statistic(
        "spend per visit (median)", lambda log: _summary(np.bincount(log.visits[0], weights=log.paid), np.median)
    ),
    # counts products and customers both, so neither resample leaves it unbiased: no bootstrap interval
    _statistic(
        "products sold per customer",
        lambda log: np.unique(log.product).size / np.unique(log.customer).size if len(log) else NAN,
        resamplable=False,
    ),
    _of_products("lines of the top 10 % of products (share)", _top_product_share, percent=True),
    _statistic("unit price (median)", lambda log: _summary(log.unit_price, np.median)),
    _statistic("unit price p75 / p25", _price_spread),
    _of_products(
        "lines discounted > 2 % below regular (share)", lambda log: _summary(discounted_lines(log)), percent=True
    ),
    _of_products(
        "discount depth (mean, discounted lines)",
        lambda log: _distance_from_regular(log, discounted_lines(log)),
        percent=True,
    ),
    _of_products("discounted days of sale in a row (mean)", _discount_spell),
    _of_products("discounted lines beside a regular-price line (share)", _mixed_days, percent=True),
    _of_products(
        "discount depth (mean, lines beside a regular-price line)",
        lambda log: _distance_from_regular(log, _beside_regular(log)),
        percent=True,
    ),
    _of_products("lines > 2 % above regular (share)", lambda log: _summary(raised_lines(log)), percent=True),
    _of_products(
        "price rise (mean, lines above regular)",
        lambda log: _distance_from_regular(log, raised_lines(log)),
        percent=True,
    ),
    _of_products("lines above regular of the top 10 % of products (share)", _top_product_rises, percent=True),
    _statistic("spend in the top 10 categories (share)", _top_category_share, percent=True),
    _of_products("gross margin (products priced above ASSET)", _margin, percent=True),
    _of_products("lines paid below ASSET (share)", lambda log: _summary(log.cost > log.paid), percent=True),
)
