"""The data side of calibrating to a transaction log (Ta Feng): the log, its statistics and its product-days.

**The log.** :class:`TransactionLog` has one row per product line: who bought, on which day, which product of
which category, how many units, the line total paid and the line's ASSET. Ta Feng has no receipt id, so a *visit*
is one (customer, day) pair: two trips on one day count as one visit. It bootstraps by customer
(:meth:`TransactionLog.resample`), so it serves :func:`shopgym.calibration.fidelity.compare`.

**ASSET.** Ta Feng documents ASSET as the cost to the shop. SALES_PRICE and ASSET are both line totals (they
scale with AMOUNT). ASSET per unit is constant within a product while the price paid moves, as a cost would, and
is 85 % of spend overall; but it exceeds the price paid on 7.6 % of lines, and on a few best sellers (1.2 % of
products, 10 % of lines) it exceeds the product's regular price, so they are either loss leaders or their ASSET
is not what they cost. The margin statistic therefore leaves those products out: it is 1 − Σ ASSET / Σ paid over
the lines of products whose mean ASSET per unit is at most their regular price; the share of lines paid below
their ASSET is a statistic of its own.

**Product-days.** :func:`product_days` aggregates the lines per product and day, with each day's reference price
(the product's smoothed earlier prices); :mod:`shopgym.calibration.reference_prices` regresses units sold on them.

Longer than the house's 350 lines because the statistics share the log's cached views (visits, regular prices,
discounted lines) and each needs its docstring; split them out when the next one is added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from shopgym.calibration.fidelity import Statistic
from shopgym.datasets import Transactions
from shopgym.params import ParameterError

__all__ = [
    "TRANSACTION_STATISTICS",
    "ProductDays",
    "TransactionLog",
    "discounted_lines",
    "product_days",
    "raised_lines",
    "regular_prices",
    "retention_curve",
    "visit_gaps",
]

#: A line is discounted (raised) when its unit price is this far below (above) the product's regular price.
DISCOUNT_THRESHOLD = 0.02


def _groups(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by ``keys`` (the last key sorts first, as in np.lexsort) and the start of each group of equal
    keys in that order, with the row count appended."""
    order = np.lexsort(keys)
    changed = np.zeros(order.size, dtype=bool)
    changed[:1] = True
    for key in keys:
        changed[1:] |= key[order][1:] != key[order][:-1]
    return order, np.append(np.flatnonzero(changed), order.size)


def regular_prices(product: np.ndarray, unit_price: np.ndarray) -> np.ndarray:
    """Per row [R], the regular price of the row's product: its most frequent unit price (to the cent) among the
    given rows, ties going to the highest."""
    if not product.size:
        return np.zeros(0)
    price = np.round(unit_price, 2)
    order, starts = _groups(price, product)
    first = order[starts[:-1]]
    pair_product, pair_price, pair_count = product[first], price[first], np.diff(starts)
    best = np.lexsort((pair_price, pair_count, pair_product))  # per product, its regular price sorts last
    last = np.append(pair_product[best][1:] != pair_product[best][:-1], True)  # one per product, ascending
    return pair_price[best][last][np.unique(product, return_inverse=True)[1]]


@dataclass(frozen=True)
class TransactionLog:
    """Product lines, equal-length arrays [R]: ``customer``, ``day`` (days since ``origin``), ``product``,
    ``category`` (Ta Feng's PRODUCT_SUBCLASS) and ``units`` (≥ 1) are int64; ``paid`` (line total paid) and
    ``cost`` (line ASSET, see the module docstring) are float64, ≥ 0."""

    customer: np.ndarray
    day: np.ndarray
    product: np.ndarray
    category: np.ndarray
    units: np.ndarray
    paid: np.ndarray
    cost: np.ndarray
    origin: np.datetime64

    def __post_init__(self) -> None:
        for name in ("day", "product", "category", "units", "paid", "cost"):
            if len(getattr(self, name)) != len(self):
                raise ParameterError(f"{name} has {len(getattr(self, name))} rows, customer {len(self)}: need equal")
        if len(self) and self.units.min() < 1:
            raise ParameterError(f"units = {int(self.units.min())} in the transaction log: allowed ≥ 1")
        for name in ("paid", "cost"):
            values = getattr(self, name)
            bad = ~(np.isfinite(values) & (values >= 0))
            if bad.any():
                raise ParameterError(f"{name} = {values[bad][0]} in the transaction log: allowed finite, ≥ 0")

    @classmethod
    def of(cls, transactions: Transactions) -> TransactionLog:
        """The log of Ta Feng transactions; day 0 is their first date."""
        if len(transactions) == 0:
            raise ParameterError("the transactions are empty: no log to build")
        origin = transactions.date.min()
        return cls(
            customer=transactions.customer_id.astype(np.int64),
            day=(transactions.date - origin).astype(np.int64),
            product=transactions.product_id.astype(np.int64),
            category=transactions.product_subclass.astype(np.int64),
            units=transactions.amount.astype(np.int64),
            paid=transactions.sales_price.astype(np.float64),
            cost=transactions.asset.astype(np.float64),
            origin=origin,
        )

    def __len__(self) -> int:
        return len(self.customer)

    def take(self, rows: np.ndarray) -> TransactionLog:
        """The log of the given rows (same origin)."""
        columns = (self.customer, self.day, self.product, self.category, self.units, self.paid, self.cost)
        return TransactionLog(*(column[rows] for column in columns), origin=self.origin)

    def between(self, first_day: np.datetime64 | str, last_day: np.datetime64 | str) -> TransactionLog:
        """The rows dated ``first_day`` to ``last_day`` (both included), with ``first_day`` as the new origin."""
        first, last = np.datetime64(first_day, "D"), np.datetime64(last_day, "D")
        if last < first:
            raise ParameterError(f"last_day = {last} is before first_day = {first}")
        start, end = int((first - self.origin).astype(np.int64)), int((last - self.origin).astype(np.int64))
        rows = (self.day >= start) & (self.day <= end)
        if not rows.any():
            span = f"{self.origin + self.day.min()} – {self.origin + self.day.max()}" if len(self) else "nothing"
            raise ParameterError(f"no transactions between {first} and {last}: the log spans {span}")
        window = self.take(rows)
        return replace(window, day=window.day - start, origin=first)

    def resample(self, rng: np.random.Generator) -> TransactionLog:
        """A bootstrap resample by customer: as many customers as the log has, drawn with replacement, each with
        all their rows; a customer drawn twice becomes two customers (customers are relabelled 0, 1, …). A
        customer's visits depend on each other, so resampling rows would understate the uncertainty."""
        if not len(self):
            raise ParameterError("the transaction log is empty: nothing to resample")
        order, starts = self._by_customer
        customers = starts.size - 1
        drawn = rng.integers(0, customers, customers)
        lengths = starts[drawn + 1] - starts[drawn]
        offset = np.repeat(starts[drawn] - (np.cumsum(lengths) - lengths), lengths)
        rows = order[offset + np.arange(lengths.sum())]
        return replace(self.take(rows), customer=np.repeat(np.arange(customers), lengths))

    @property
    def unit_price(self) -> np.ndarray:
        """Paid per unit [R]."""
        return self.paid / self.units

    @cached_property
    def regular_price(self) -> np.ndarray:
        """Per row [R], the regular price of its product in this log (:func:`regular_prices`)."""
        return regular_prices(self.product, self.unit_price)

    @cached_property
    def _by_customer(self) -> tuple[np.ndarray, np.ndarray]:
        return _groups(self.customer)

    @cached_property
    def visits(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Visits (one per customer and day), sorted by customer then day: the visit of each row [R], and each
        visit's customer and day [V]."""
        order, starts = _groups(self.day, self.customer)
        visit = np.empty(len(self), dtype=np.int64)
        visit[order] = np.repeat(np.arange(starts.size - 1), np.diff(starts))
        first = order[starts[:-1]]
        return visit, self.customer[first], self.day[first]


NAN = float("nan")


# ------------------------------------------------------------------------------------------------- statistics
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
    order, starts = _groups(log.day, log.product)  # the lines of each product-day together
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


def _top_product_share(log: TransactionLog, top: float = 0.1) -> float:
    """Share of the lines sold by the ``top`` share of the products sold (the log's most sold, by lines)."""
    lines = np.sort(np.unique(log.product, return_counts=True)[1])[::-1]
    return float(lines[: max(1, round(top * lines.size))].sum() / lines.sum()) if len(log) else NAN


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
    name: str, compute: Callable[[TransactionLog], float], percent: bool = False, resamplable: bool = True
) -> Statistic:
    return Statistic(name, compute, percent, tolerance=RELATIVE_TOLERANCE, resamplable=resamplable)


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
    _statistic("customers of the first 30 days back later (share)", _retention, percent=True),
    _statistic("lines per visit", lambda log: len(log) / log.visits[1].size if len(log) else NAN),
    _statistic("units per line", lambda log: _summary(log.units)),
    _statistic("units per discounted line", lambda log: _summary(log.units[discounted_lines(log)])),
    _statistic(
        "spend per visit (median)", lambda log: _summary(np.bincount(log.visits[0], weights=log.paid), np.median)
    ),
    # a customer drawn twice adds no product and no product-day of their own: these four have no bootstrap interval
    _statistic(
        "products sold per customer",
        lambda log: np.unique(log.product).size / np.unique(log.customer).size if len(log) else NAN,
        resamplable=False,
    ),
    _statistic("lines of the top 10 % of products (share)", _top_product_share, percent=True, resamplable=False),
    _statistic("unit price (median)", lambda log: _summary(log.unit_price, np.median)),
    _statistic("unit price p75 / p25", _price_spread),
    _statistic(
        "lines discounted > 2 % below regular (share)", lambda log: _summary(discounted_lines(log)), percent=True
    ),
    _statistic(
        "discount depth (mean, discounted lines)",
        lambda log: _distance_from_regular(log, discounted_lines(log)),
        percent=True,
    ),
    _statistic("discounted days of sale in a row (mean)", _discount_spell),
    _statistic("discounted lines beside a regular-price line (share)", _mixed_days, percent=True, resamplable=False),
    _statistic(
        "discount depth (mean, lines beside a regular-price line)",
        lambda log: _distance_from_regular(log, _beside_regular(log)),
        percent=True,
        resamplable=False,
    ),
    _statistic("lines > 2 % above regular (share)", lambda log: _summary(raised_lines(log)), percent=True),
    _statistic(
        "price rise (mean, lines above regular)",
        lambda log: _distance_from_regular(log, raised_lines(log)),
        percent=True,
    ),
    _statistic("spend in the top 10 categories (share)", _top_category_share, percent=True),
    _statistic("gross margin (products priced above ASSET)", _margin, percent=True),
    _statistic("lines paid below ASSET (share)", lambda log: _summary(log.cost > log.paid), percent=True),
)


# ------------------------------------------------------------------------------------------------ product-days
@dataclass(frozen=True)
class ProductDays:
    """A log's product-days with sales, sorted by product then day, arrays [D]: ``product``, its ``regular`` price,
    ``units`` sold, the mean ``price`` paid per unit, the ``reference`` price R (the smoothed prices of the
    product's earlier days with sales; a product's first day has its own price) and whether the day is the
    product's ``first``."""

    product: np.ndarray
    regular: np.ndarray
    units: np.ndarray
    price: np.ndarray
    reference: np.ndarray
    first: np.ndarray


def product_days(log: TransactionLog, memory: float = 0.7) -> ProductDays:
    """The product-days of ``log`` with their reference prices, R ← memory·R + (1 − memory)·P after each day."""
    order, starts = _groups(log.day, log.product)  # product-days, sorted by product then day
    first = order[starts[:-1]]
    product, regular = log.product[first], log.regular_price[first]
    units = np.add.reduceat(log.units[order], starts[:-1]).astype(np.float64)
    price = np.add.reduceat(log.paid[order], starts[:-1]) / units
    new = np.append(True, product[1:] != product[:-1])
    rank = np.arange(product.size) - np.maximum.accumulate(np.where(new, np.arange(product.size), 0))
    reference = price.copy()  # a product's first day: its own price, so the second day's R starts there
    for k in range(1, int(rank.max(initial=0)) + 1):  # a loop over days of sale, vectorised across products
        at = np.flatnonzero(rank == k)
        reference[at] = memory * reference[at - 1] + (1 - memory) * price[at - 1]
    return ProductDays(product, regular, units, price, reference, new)
