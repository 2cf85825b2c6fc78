"""A transaction log (Ta Feng's layout) and its product-days: what the statistics of
:mod:`shopgym.calibration.transactions` and the regressions of :mod:`shopgym.calibration.reference_prices`
read.

**The log.** :class:`TransactionLog` has one row per product line: who bought, on which day, which product of
which category, how many units, the line total paid and the line's ASSET. Ta Feng has no receipt id, so a *visit*
is one (customer, day) pair: two trips on one day count as one visit. It bootstraps by customer, product or
category (:meth:`TransactionLog.resample`), so it serves :func:`shopgym.calibration.fidelity.compare`. A product's
regular price is its most frequent unit price (:func:`regular_prices`).

**Product-days.** :func:`product_days` aggregates the lines per product and day, with each day's reference price
(the product's smoothed earlier prices).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from shopgym.datasets import Transactions
from shopgym.params import ParameterError

__all__ = [
    "DISCOUNT_THRESHOLD",
    "RESAMPLING_UNITS",
    "ProductDays",
    "TransactionLog",
    "group_rows",
    "product_days",
    "regular_prices",
]

#: The columns :meth:`TransactionLog.resample` can draw by.
RESAMPLING_UNITS = ("customer", "product", "category")

#: A line is discounted (raised) when its unit price is this far below (above) the product's regular price.
DISCOUNT_THRESHOLD = 0.02


def group_rows(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    order, starts = group_rows(price, product)
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

    def resample(self, rng: np.random.Generator, unit: str | None = None) -> TransactionLog:
        """A bootstrap resample by ``unit``, one of :data:`RESAMPLING_UNITS` (None: customer): as many units as the
        log has, drawn with replacement, each with all its rows; a unit drawn twice becomes two (the unit's ids are
        relabelled 0, 1, …; by category the products are relabelled too, so that each copy has products of its
        own). Draw the unit the rows depend on through the statistic: a customer's visits depend on each other; a
        product's lines share its regular price and its days of discount; a category's lines share its days.
        Resampling rows would understate the uncertainty, and resampling customers for a statistic of products
        would shift it (a resample drops about a third of the customers, and with them a product's modal price)."""
        unit = unit or "customer"
        if unit not in RESAMPLING_UNITS:
            raise ParameterError(f"unit = {unit!r}: allowed {', '.join(RESAMPLING_UNITS)}")
        if not len(self):
            raise ParameterError("the transaction log is empty: nothing to resample")
        if unit not in self._groups:
            self._groups[unit] = group_rows(getattr(self, unit))
        order, starts = self._groups[unit]
        count = starts.size - 1
        drawn = rng.integers(0, count, count)
        lengths = starts[drawn + 1] - starts[drawn]
        offset = np.repeat(starts[drawn] - (np.cumsum(lengths) - lengths), lengths)
        rows = order[offset + np.arange(lengths.sum())]
        copy = np.repeat(np.arange(count), lengths)
        relabelled = {unit: copy}
        if unit == "category":
            product = self.product[rows]
            relabelled["product"] = np.unique(copy * (int(product.max()) + 1) + product, return_inverse=True)[1]
        return replace(self.take(rows), **relabelled)

    @property
    def unit_price(self) -> np.ndarray:
        """Paid per unit [R]."""
        return self.paid / self.units

    @cached_property
    def regular_price(self) -> np.ndarray:
        """Per row [R], the regular price of its product in this log (:func:`regular_prices`)."""
        return regular_prices(self.product, self.unit_price)

    @cached_property
    def _groups(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per resampling unit drawn so far, its :func:`group_rows`."""
        return {}

    @cached_property
    def visits(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Visits (one per customer and day), sorted by customer then day: the visit of each row [R], and each
        visit's customer and day [V]."""
        order, starts = group_rows(self.day, self.customer)
        visit = np.empty(len(self), dtype=np.int64)
        visit[order] = np.repeat(np.arange(starts.size - 1), np.diff(starts))
        first = order[starts[:-1]]
        return visit, self.customer[first], self.day[first]


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
    order, starts = group_rows(log.day, log.product)  # product-days, sorted by product then day
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
