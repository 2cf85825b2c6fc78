"""Routine lines: what a shopper buys at a visit besides the shown items (a grocery basket).

A segment with ``routine_purchase`` π_r > 0 buys, at every visit, at most one line per category from the shelf,
at the shelf price of the day (a paid fraction per item set by the store; list price when none is given). The
line responds to price through the shopper's own price sensitivity β and reference-price coefficients η⁺, η⁻
against the category's reference price ρ_c, the same terms as the purchase of a shown item (docs/model.md §5):

    u_i = −χβ·ln s_i + η⁺·(ρ_c − s_i)⁺ − η⁻·(s_i − ρ_c)⁺        (s_i the item's shelf paid fraction)
    P(line in c) = σ(logit π_r − ψ·I_c + ln Σ_{i∈c} w_i·e^{u_i})  (w_i the item's popularity share within c)
    P(item i | line in c) = w_i·e^{u_i} / Σ_{j∈c} w_j·e^{u_j}
    units = 1 + min(X, Q − 1),  X ~ Poisson(μ_r + ς·(ρ_c − s_i)⁺)  (μ_r = ``routine_extra_units``)

I_c is the stock after the visit's purchase of a shown item, so a stockpiled offer replaces routine lines. At list
prices and ρ_c = 1 the log-sum is 0 and π_r is the chance of a line in a category with no stock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopgym.catalog import Catalog
from shopgym.market import Coefficients
from shopgym.shoppers import ShopperState

__all__ = ["RoutineLines", "routine_lines"]


@dataclass(frozen=True, eq=False)
class RoutineLines:
    """One visit's routine lines, arrays [N, C]: ``item`` (−1 = no line), ``units`` (0 = no line) and
    ``paid_fraction`` (the shelf paid fraction of the item; 1 where there is no line)."""

    item: np.ndarray
    units: np.ndarray
    paid_fraction: np.ndarray


def _price_utility(
    state: ShopperState, coef: Coefficients, rho: np.ndarray, x: np.ndarray, rows: np.ndarray | slice = slice(None)
) -> np.ndarray:
    """u of paid fraction ``x`` against reference ``rho`` (broadcast with the shoppers ``rows`` as [N, 1])."""
    beta = (coef.price_sensitivity_scale * state.price_sensitivity[rows])[:, None]
    return (
        -beta * np.log(x)
        + state.gain_coef[rows][:, None] * np.maximum(rho - x, 0.0)
        - state.loss_coef[rows][:, None] * np.maximum(x - rho, 0.0)
    )


def routine_lines(
    rng: np.random.Generator,
    state: ShopperState,
    catalog: Catalog,
    coef: Coefficients,
    offer_item: np.ndarray,
    offer_units: np.ndarray,
    shelf: np.ndarray | None = None,
) -> RoutineLines:
    """Draw the routine lines of a visit (module docstring). ``offer_item`` [N] and ``offer_units`` [N] are the
    shown item bought at the visit (−1 and 0: none), whose units count as stock; ``shelf`` [n_items] is the paid
    fraction of every item today (None: list price)."""
    n, n_categories = state.inventory.shape
    stock = state.inventory.copy()
    buyers = np.flatnonzero(offer_units > 0)
    stock[buyers, catalog.category.take(offer_item[buyers])] += offer_units[buyers]
    rho = state.reference_price
    within = catalog.popularity / np.bincount(catalog.category, catalog.popularity, n_categories)[catalog.category]
    # items off list price are few: the rest of a category shares one utility, e^{u at list} times its weight
    special = np.zeros(0, dtype=np.int64) if shelf is None else np.flatnonzero(shelf != 1.0)
    special_category = catalog.category[special]  # non-decreasing: the catalog is sorted by category
    list_weight = (1.0 - np.bincount(special_category, within[special], n_categories)) * np.exp(
        _price_utility(state, coef, rho, np.ones(1))
    )
    total = list_weight.copy()
    if special.size:  # per shopper, the running sum of the special items' weights, category after category
        x = shelf[special]
        running = np.cumsum(within[special] * np.exp(_price_utility(state, coef, rho[:, special_category], x)), axis=1)
        first = np.searchsorted(special_category, np.arange(n_categories))  # each category's range in ``special``
        last = np.searchsorted(special_category, np.arange(n_categories), side="right")
        padded = np.concatenate([np.zeros((n, 1)), running], axis=1)  # padded[:, k] = sum of the first k
        total += padded[:, last] - padded[:, first]
    chance = state.routine_purchase[:, None]
    with np.errstate(divide="ignore"):
        logit = np.log(chance) - np.log1p(-chance) - coef.inventory_weight * stock + np.log(total)
    line = rng.random((n, n_categories)) < 1.0 / (1.0 + np.exp(-logit))

    # the item: from the list-priced rest by popularity, or one of the special items by weight
    target = rng.random((n, n_categories)) * total
    from_list = target < list_weight
    rest = within.copy()
    rest[special] = 0.0
    start, count = catalog.category_start, catalog.category_count
    end = start + count - 1
    cumulative = np.cumsum(rest)
    before = np.append(0.0, cumulative)[start]  # the rest's weight in the categories before each one
    edges = catalog.category + (cumulative - np.repeat(before, count)) / np.repeat(
        np.maximum(cumulative[end] - before, 1e-300), count
    )
    at = np.arange(n_categories) + target / np.maximum(list_weight, 1e-300)
    item = np.minimum(np.searchsorted(edges, np.minimum(at, np.arange(1, n_categories + 1)), side="right"), end)
    row, column = np.nonzero(line & ~from_list)
    if row.size:  # a binary search in each pair's category range of the running sum
        goal = padded[row, first[column]] + target[row, column] - list_weight[row, column]
        low, high = first[column], last[column] - 1
        while (low < high).any():
            middle = (low + high) // 2
            below = running[row, middle] < goal
            low, high = np.where(below, middle + 1, low), np.where(below, high, middle)
        item[row, column] = special[low]
    item = np.where(line, item, -1)
    safe = np.maximum(item, 0)
    paid = np.where(line, 1.0 if shelf is None else shelf.take(safe), 1.0)
    extra = rng.poisson(state.routine_extra_units[:, None] + coef.stockpile_rate * np.maximum(rho - paid, 0.0))
    units = np.where(line, 1 + np.minimum(extra, round(coef.max_quantity) - 1), 0)
    return RoutineLines(item=item, units=units, paid_fraction=paid)
