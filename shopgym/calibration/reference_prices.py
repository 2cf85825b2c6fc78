"""The reference-price regression on a transaction log (Kalyanaram & Winer 1995; Mazumdar, Raj & Sinha 2005).

:func:`fit_reference_price` regresses log units sold per product-day on the log price relative to the regular price
and on the gain and loss of the price against an exponentially smoothed reference price, with product fixed effects
and product-clustered standard errors. :data:`REFERENCE_STATISTICS` are its coefficients as fidelity statistics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from shopgym.calibration.clicks import Estimate
from shopgym.calibration.fidelity import Statistic
from shopgym.calibration.transactions import COEFFICIENT_TOLERANCE, NAN, TransactionLog, product_days
from shopgym.params import ParameterError

__all__ = ["REFERENCE_STATISTICS", "ReferenceFit", "fit_reference_price"]


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
