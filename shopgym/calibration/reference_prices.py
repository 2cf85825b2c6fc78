"""The reference-price regression on a transaction log (Kalyanaram & Winer 1995; Mazumdar, Raj & Sinha 2005).

:func:`fit_reference_price` regresses log units sold per product-day on the log price relative to the regular price
and on the gain and loss of the price against an exponentially smoothed reference price, with product fixed effects
and product-clustered standard errors; :func:`fit_price_response` regresses the same log units on the log price
below and above the regular price, two slopes; :func:`fit_category_response` regresses a category's lines per visit
of a day on its lines' prices against their regular ones, two slopes again: whether a discount adds lines to its
category or only draws them to the discounted product. :data:`REFERENCE_STATISTICS` are their coefficients as
fidelity statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from shopgym.calibration.clicks import Estimate
from shopgym.calibration.fidelity import Statistic
from shopgym.calibration.transaction_log import TransactionLog, group_rows, product_days
from shopgym.calibration.transactions import COEFFICIENT_TOLERANCE, NAN
from shopgym.params import ParameterError

__all__ = [
    "REFERENCE_STATISTICS",
    "PriceResponse",
    "ReferenceFit",
    "fit_category_response",
    "fit_price_response",
    "fit_reference_price",
]


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
    ols = _FixedEffects(x, np.log(units[keep]), cluster, "price, gain and loss")
    estimate = ols.estimate
    return ReferenceFit(
        price_elasticity=estimate(np.array([1.0, 0, 0])),
        gain=estimate(np.array([0, 1.0, 0])),
        loss=estimate(np.array([0, 0, 1.0])),
        loss_aversion=estimate(np.array([0, -1.0, -1.0])),
        product_days=int(ols.rows),
        products=int(groups.size),
        memory=memory,
        clustered_se=ols.clustered_se,
        naive_se=ols.naive_se,
    )


@dataclass(frozen=True)
class PriceResponse:
    """The piecewise price response (:func:`fit_price_response`): slopes of log units sold per product-day on
    log(price / regular price) below the regular price (``below``) and above it (``above``), with 95 % intervals;
    nan where the log has no such product-day. ``product_days`` and ``products`` count the rows and groups fitted
    (category-days and categories for :func:`fit_category_response`)."""

    below: Estimate
    above: Estimate
    product_days: int
    products: int


def fit_price_response(log: TransactionLog, min_days: int = 10) -> PriceResponse:
    """Fit log units sold per product-day to min(log(P / regular), 0) and max(log(P / regular), 0), with product
    fixed effects and product-clustered errors, over the products with at least ``min_days`` days of sale (P the
    mean price per unit, as in :func:`fit_reference_price`, with the same selection: days with sales only). The
    two slopes separate what the reference regression mixes: how much a discount sells and how much a price above
    the regular one loses."""
    if not len(log):
        raise ParameterError("the transaction log is empty: no price response to fit")
    days = product_days(log)
    index = np.cumsum(days.first) - 1
    keep = np.bincount(index)[index] >= min_days
    groups, cluster = np.unique(days.product[keep], return_inverse=True)
    if groups.size < 2:
        raise ParameterError(f"min_days = {min_days}: fewer than 2 products have that many days with sales to fit")
    relative = np.log(days.price[keep] / days.regular[keep])
    return _piecewise(relative, np.log(days.units[keep]), cluster, "products")


def fit_category_response(log: TransactionLog, min_days: int = 10) -> PriceResponse:
    """Fit log(lines in a category on a day / visits that day) to min(r, 0) and max(r, 0), r the mean of the
    lines' log(unit price / regular price), with category fixed effects and category-clustered errors, over the
    categories with lines on at least ``min_days`` days. Where a discount only draws the category's line to the
    discounted product the lines stay as many; where it adds lines (category incidence) the slope below the regular
    price is negative. Selection: r is the mean over the lines bought, so a day with few lines has a more extreme
    r, which pulls both slopes up; the simulated logs share it, so the fit compares like with like."""
    if not len(log):
        raise ParameterError("the transaction log is empty: no category response to fit")
    _, _, visit_day = log.visits
    visits = np.bincount(visit_day)
    order, starts = group_rows(log.day, log.category)
    first = order[starts[:-1]]
    lines = np.diff(starts)
    group = np.repeat(np.arange(lines.size), lines)
    relative = np.bincount(group, np.log(log.unit_price / log.regular_price)[order], lines.size) / lines
    category, day = log.category[first], log.day[first]
    keep = np.bincount(category)[category] >= min_days
    groups, cluster = np.unique(category[keep], return_inverse=True)
    if groups.size < 2:
        raise ParameterError(f"min_days = {min_days}: fewer than 2 categories have lines on that many days to fit")
    return _piecewise(relative[keep], np.log(lines[keep] / visits[day[keep]]), cluster, "categories")


def _piecewise(relative: np.ndarray, y: np.ndarray, cluster: np.ndarray, groups: str) -> PriceResponse:
    """OLS of ``y`` [D] on min(``relative``, 0) and max(``relative``, 0) [D] with a fixed effect per ``cluster``
    (ids 0 … G − 1, the ``groups`` named in errors) and clustered errors: a slope below and above 0, nan for a side
    with no row that moves within its group."""
    columns = np.column_stack([np.minimum(relative, 0.0), np.maximum(relative, 0.0)])
    moves = [k for k in range(2) if np.ptp(_demeaned(columns[:, k : k + 1], cluster)) > 0]
    if not moves:
        raise ParameterError(f"the prices do not move within {groups}: no response to fit")
    ols = _FixedEffects(columns[:, moves], y, cluster, "prices below and above the regular")
    slopes = [
        ols.estimate(np.eye(len(moves))[moves.index(k)]) if k in moves else Estimate(NAN, NAN, NAN) for k in (0, 1)
    ]
    return PriceResponse(slopes[0], slopes[1], int(ols.rows), int(cluster.max()) + 1)


def _demeaned(x: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """``x`` [D, k] minus its mean per cluster."""
    size = np.bincount(cluster).astype(np.float64)[:, None]
    return x - (np.stack([np.bincount(cluster, weights=col) for col in x.T], axis=1) / size)[cluster]


class _FixedEffects:
    """OLS of ``y`` [D] on ``x`` [D, k] with a fixed effect per ``cluster`` [D] (ids 0 … G − 1) and standard errors
    clustered by it (factor G/(G − 1)); intervals from Student's t with G − 1 degrees of freedom. ``what`` names
    the regressors in the error raised when they do not move within clusters."""

    def __init__(self, x: np.ndarray, y: np.ndarray, cluster: np.ndarray, what: str) -> None:
        x, y = _demeaned(x, cluster), _demeaned(y[:, None], cluster)[:, 0]
        if np.linalg.matrix_rank(x.T @ x) < x.shape[1]:
            raise ParameterError(f"the prices do not move enough within products to separate {what}")
        bread = np.linalg.inv(x.T @ x)
        self.beta = bread @ x.T @ y
        residual = y - x @ self.beta
        score = np.stack([np.bincount(cluster, weights=col * residual) for col in x.T], axis=1)  # [G, k]
        g = int(cluster.max()) + 1
        self.covariance = g / (g - 1) * bread @ (score.T @ score) @ bread
        self.rows = y.size
        self.clustered_se = tuple(float(v) for v in np.sqrt(np.diag(self.covariance)))
        dof = max(y.size - g - x.shape[1], 1)
        self.naive_se = tuple(float(v) for v in np.sqrt(np.diag(bread) * (residual @ residual) / dof))
        self.t = float(stats.t.ppf(0.975, g - 1))

    def estimate(self, weights: np.ndarray) -> Estimate:
        """The combination ``weights`` · β with its 95 % interval."""
        value, se = float(weights @ self.beta), float(np.sqrt(weights @ self.covariance @ weights))
        return Estimate(value, value - self.t * se, value + self.t * se)


_last_fits: dict[str, list] = {}  # per fit: (log, its fit), so that the statistics of one log share one fit


def _coefficient(fit: Callable[[TransactionLog], object], name: str) -> Callable[[TransactionLog], float]:
    def value(log: TransactionLog) -> float:
        last = _last_fits.setdefault(fit.__name__, [None, None])
        if last[0] is not log:
            try:
                result: object | None = fit(log)
            except ParameterError:  # too few products with enough days of sale, or prices that do not move
                result = None
            last[:] = [log, result]
        return NAN if last[1] is None else float(getattr(last[1], name).value)

    return value


#: The reference-price regression's coefficients (:func:`fit_reference_price`, memory 0.7), the price response's
#: slopes (:func:`fit_price_response`) and the category response's (:func:`fit_category_response`), as statistics.
#: Each is bootstrapped by the groups its regression clusters by: products, or categories for the category response.
REFERENCE_STATISTICS: tuple[Statistic[TransactionLog], ...] = tuple(
    Statistic(
        name,
        _coefficient(fit, field),
        tolerance=COEFFICIENT_TOLERANCE,
        relative=False,
        unit="category" if fit is fit_category_response else "product",
    )
    for name, fit, field in (
        ("reference regression: log(price / regular)", fit_reference_price, "price_elasticity"),
        ("reference regression: gain", fit_reference_price, "gain"),
        ("reference regression: loss", fit_reference_price, "loss"),
        ("reference regression: −loss − gain (loss aversion)", fit_reference_price, "loss_aversion"),
        ("price response: slope below the regular price", fit_price_response, "below"),
        ("price response: slope above the regular price", fit_price_response, "above"),
        ("category response: slope below the regular price", fit_category_response, "below"),
        ("category response: slope above the regular price", fit_category_response, "above"),
    )
)
