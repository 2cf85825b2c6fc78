"""The data side of calibrating to a transaction log (Ta Feng): the log, its statistics and a reference-price fit.

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

**Reference prices.** :func:`fit_reference_price` regresses log units sold per product-day on the log price
relative to the regular price and on the gain and loss of the price against an exponentially smoothed reference
price (Kalyanaram & Winer 1995; Mazumdar, Raj & Sinha 2005), with product fixed effects and product-clustered
standard errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy import stats

from shopgym.calibration.clicks import Estimate
from shopgym.calibration.fidelity import Statistic
from shopgym.datasets import Transactions
from shopgym.params import ParameterError

__all__ = [
    "REFERENCE_STATISTICS",
    "TRANSACTION_STATISTICS",
    "ProductDays",
    "ReferenceFit",
    "TransactionLog",
    "fit_reference_price",
    "product_days",
    "regular_prices",
    "visit_gaps",
]

#: A line is discounted when its unit price is this far below the product's regular price.
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


def _retention(log: TransactionLog, days: int = 30) -> float:
    """Share of the customers active in the log's first ``days`` days who visit again later (nan when the log is
    no longer than ``days`` days)."""
    if not len(log) or log.day.max() - log.day.min() < days:
        return NAN
    late = log.day - log.day.min() >= days
    return float(np.isin(np.unique(log.customer[~late]), log.customer[late]).mean())


def _price_spread(log: TransactionLog) -> float:
    """p75 / p25 of the unit price (nan when p25 is 0)."""
    low, high = np.percentile(log.unit_price, [25, 75]) if len(log) else (0.0, NAN)
    return float(high / low) if low > 0 else NAN


def _discounted(log: TransactionLog) -> np.ndarray:
    return log.unit_price < (1 - DISCOUNT_THRESHOLD) * log.regular_price


def _discount_depth(log: TransactionLog) -> float:
    """Mean of 1 − unit price / regular price over the discounted lines."""
    rows = _discounted(log)
    return _summary(1 - log.unit_price[rows] / log.regular_price[rows])


def _discount_spell(log: TransactionLog) -> float:
    """Mean length of a product's runs of consecutive days of sale below its regular price (in days of sale)."""
    if not len(log):
        return NAN
    days = product_days(log)
    cut = days.price < (1 - DISCOUNT_THRESHOLD) * days.regular
    begins = cut & (days.first | ~np.append(False, cut[:-1]))
    return float(cut.sum() / begins.sum()) if begins.any() else NAN


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
RELATIVE_TOLERANCE, COEFFICIENT_TOLERANCE = 0.10, 0.5


def _statistic(name: str, compute: Callable[[TransactionLog], float], percent: bool = False) -> Statistic:
    return Statistic(name, compute, percent, tolerance=RELATIVE_TOLERANCE)


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
    _statistic("units per discounted line", lambda log: _summary(log.units[_discounted(log)])),
    _statistic(
        "spend per visit (median)", lambda log: _summary(np.bincount(log.visits[0], weights=log.paid), np.median)
    ),
    _statistic("unit price (median)", lambda log: _summary(log.unit_price, np.median)),
    _statistic("unit price p75 / p25", _price_spread),
    _statistic("lines discounted > 2 % below regular (share)", lambda log: _summary(_discounted(log)), percent=True),
    _statistic("discount depth (mean, discounted lines)", _discount_depth, percent=True),
    _statistic("discounted days of sale in a row (mean)", _discount_spell),
    _statistic("spend in the top 10 categories (share)", _top_category_share, percent=True),
    _statistic("gross margin (products priced above ASSET)", _margin, percent=True),
    _statistic("lines paid below ASSET (share)", lambda log: _summary(log.cost > log.paid), percent=True),
)


# --------------------------------------------------------------------------------------------- reference price
@dataclass(frozen=True)
class ReferenceFit:
    """The reference-price regression (:func:`fit_reference_price`). Coefficients of log units sold:
    ``price_elasticity`` on log(price / regular price), ``gain`` on max(R − P, 0)/R and ``loss`` on max(P − R, 0)/R,
    with 95 % intervals from product-clustered standard errors. ``loss_aversion`` is −loss − gain: with the log-price
    term carrying the common slope, log units fall with slope elasticity − gain per unit of (P − R)/R below the
    reference and elasticity + loss above it, so −loss − gain is how much steeper demand falls above the reference
    than below it (|loss| − gain when gain > 0 and loss < 0); above 0 is loss aversion. ``clustered_se`` and
    ``naive_se`` (iid OLS, for comparison) are in the order elasticity, gain, loss."""

    price_elasticity: Estimate
    gain: Estimate
    loss: Estimate
    loss_aversion: Estimate
    product_days: int
    products: int
    memory: float
    clustered_se: tuple[float, float, float]
    naive_se: tuple[float, float, float]


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


def fit_reference_price(log: TransactionLog, memory: float = 0.7, min_days: int = 10) -> ReferenceFit:
    """Fit log units sold per product-day to the price against the regular and the reference price.

    Per product-day with sales: units = units sold, P = total paid / units (the mean price per unit), regular
    price as in :func:`regular_prices` (over the log's lines), reference R = the smoothed prices of the product's
    earlier days with sales (R ← memory·R + (1 − memory)·P after each such day, starting at its first price; the
    first day has no reference and is dropped). Products with fewer than ``min_days`` remaining days are dropped;
    y = log units and the regressors are demeaned per product (fixed effects), fitted by OLS. Standard errors are
    clustered by product with the factor G/(G − 1), intervals use Student's t with G − 1 degrees of freedom.

    Selection: only days with sales are observed, so y is the log of units *given* a sale, not demand. Days on
    which a high price sold nothing are missing, which pulls the price effects toward zero, and the reference
    price is built from prices paid, not prices posted on days without sales. P is a unit value, not a posted
    price: a multi-buy offer lowers it on exactly the days many units are bought, which makes demand look more
    price-sensitive than it is.
    """
    if not 0 <= memory < 1:
        raise ParameterError(f"memory = {memory}: allowed 0 ≤ memory < 1")
    if min_days < 1:
        raise ParameterError(f"min_days = {min_days}: allowed ≥ 1")
    if not len(log):
        raise ParameterError("the transaction log is empty: no reference-price regression to fit")
    days = product_days(log, memory)
    product, regular, units, price, reference, new = (
        days.product,
        days.regular,
        days.units,
        days.price,
        days.reference,
        days.first,
    )
    product_index = np.cumsum(new) - 1
    keep = ~new & (np.bincount(product_index, weights=~new)[product_index] >= min_days)
    groups, cluster = np.unique(product[keep], return_inverse=True)
    if groups.size < 2:
        raise ParameterError(f"min_days = {min_days}: fewer than 2 products have that many days with sales to fit")
    p, r = price[keep], reference[keep]
    x = np.column_stack([np.log(p / regular[keep]), np.maximum(r - p, 0) / r, np.maximum(p - r, 0) / r])
    y = np.log(units[keep])
    size = np.bincount(cluster).astype(np.float64)[:, None]
    y = y - (np.bincount(cluster, weights=y) / size[:, 0])[cluster]
    x = x - (np.stack([np.bincount(cluster, weights=col) for col in x.T], axis=1) / size)[cluster]
    xtx = x.T @ x
    if np.linalg.matrix_rank(xtx) < 3:
        raise ParameterError("the prices do not move enough within products to separate price, gain and loss")
    bread = np.linalg.inv(xtx)
    beta = bread @ x.T @ y
    residual = y - x @ beta
    score = np.stack([np.bincount(cluster, weights=col * residual) for col in x.T], axis=1)  # [G, 3]
    g = groups.size
    covariance = g / (g - 1) * bread @ (score.T @ score) @ bread
    dof = max(y.size - g - 3, 1)
    naive = np.sqrt(np.diag(bread) * (residual @ residual) / dof)
    clustered = np.sqrt(np.diag(covariance))
    t = float(stats.t.ppf(0.975, g - 1))

    def estimate(weights: np.ndarray) -> Estimate:
        value, se = float(weights @ beta), float(np.sqrt(weights @ covariance @ weights))
        return Estimate(value, value - t * se, value + t * se)

    return ReferenceFit(
        price_elasticity=estimate(np.array([1.0, 0, 0])),
        gain=estimate(np.array([0, 1.0, 0])),
        loss=estimate(np.array([0, 0, 1.0])),
        loss_aversion=estimate(np.array([0, -1.0, -1.0])),
        product_days=int(y.size),
        products=int(g),
        memory=memory,
        clustered_se=(float(clustered[0]), float(clustered[1]), float(clustered[2])),
        naive_se=(float(naive[0]), float(naive[1]), float(naive[2])),
    )


_last_fit: list = [None, None]  # (log, its fit): the regression statistics of one log share one fit


def _coefficient(name: str) -> Callable[[TransactionLog], float]:
    def value(log: TransactionLog) -> float:
        if _last_fit[0] is not log:
            try:
                fit: ReferenceFit | None = fit_reference_price(log)
            except ParameterError:  # too few products with enough days of sale to fit
                fit = None
            _last_fit[:] = [log, fit]
        return NAN if _last_fit[1] is None else float(getattr(_last_fit[1], name).value)

    return value


#: The reference-price regression's coefficients (:func:`fit_reference_price`, memory 0.7), as statistics.
REFERENCE_STATISTICS: tuple[Statistic[TransactionLog], ...] = tuple(
    Statistic(name, _coefficient(field), tolerance=COEFFICIENT_TOLERANCE, relative=False)
    for name, field in (
        ("reference regression: log(price / regular)", "price_elasticity"),
        ("reference regression: gain", "gain"),
        ("reference regression: loss", "loss"),
        ("reference regression: −loss − gain (loss aversion)", "loss_aversion"),
    )
)
