"""Routine lines: what a shopper buys at a visit besides the shown items (a grocery basket).

A segment with ``routine_purchase`` π_r > 0 buys, at every visit, at most one line per category from the shelf,
at the shelf price of the day (a paid fraction per item set by the store; list price when none is given). The
line responds to price through the shopper's own price sensitivity β and reference-price coefficients η⁺, η⁻
against the category's reference price ρ_c, the same terms as the purchase of a shown item (docs/model.md §5):

    u_i = −χβ·ln s_i + η⁺·(ρ_c − s_i)⁺ − η⁻·(s_i − ρ_c)⁺        (s_i the item's shelf paid fraction)
    P(line in c) = σ(logit π_r − ψ·I_c − ψ_p·Σ_k I_k + ω·ln Σ_{i∈c} w_i·e^{u_i})  (w_i: popularity share within c)
    P(item i | line in c) = w_i·e^{u_i} / Σ_{j∈c} w_j·e^{u_j}
    units = 1 + min(X, Q − 1),  X ~ Poisson(μ_r + ς·(ρ_c − s_i)⁺)  (μ_r = ``routine_extra_units``)

I_c is the stock after the visit's purchase of a shown item, so a stockpiled offer replaces routine lines. At list
prices and ρ_c = 1 the log-sum is 0 and π_r is the chance of a line in a category with no stock. With the pantry
weight ψ_p > 0 a full pantry shortens the whole basket: a trip soon after the last has fewer lines. The weight ω
(``routine_value_weight``) of the category's value sets how much a discount adds lines (ω = 1) rather than only
moving the line to the discounted item (ω = 0).
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


def _reference_terms(gap: np.ndarray, gain: np.ndarray, loss: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """η⁺·(ρ − x)⁺ − η⁻·(x − ρ)⁺, in place of ``gap`` = ρ − x [N, ·], for the shoppers' η⁺ ``gain`` and η⁻ ``loss``
    [N, 1]; ``scratch`` is an array of the same shape to overwrite. Computed as η⁺·max(ρ − x, 0) + η⁻·min(ρ − x, 0),
    in fewer passes over the array: one of the two terms is zero, and x − ρ is exactly −(ρ − x) in floating point,
    so every number is the same (bar the sign of a zero, which e^u does not see), also once −β·ln x is added."""
    np.minimum(gap, 0.0, out=scratch)
    scratch *= loss
    np.maximum(gap, 0.0, out=gap)
    gap *= gain
    gap += scratch
    return gap


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
    # Hot in simulated stores: the arrays are built in place, and only the drawn lines look up their item. Any
    # change here must keep every output bit (same draws in the same order, same floating-point results).
    n, n_categories = state.inventory.shape
    rho = state.reference_price
    gain, loss = state.gain_coef[:, None], state.loss_coef[:, None]
    within = catalog.popularity_within
    # items off list price are few: the rest of a category shares one utility, e^{u at list} times its weight
    special = np.zeros(0, dtype=np.int64) if shelf is None else np.flatnonzero(shelf != 1.0)
    special_category = catalog.category[special]  # non-decreasing: the catalog is sorted by category
    list_weight = rho - 1.0  # u at list price (−β·ln 1 = 0), then its weight
    _reference_terms(list_weight, gain, loss, np.empty_like(list_weight))
    np.exp(list_weight, out=list_weight)
    list_weight *= 1.0 - np.bincount(special_category, within[special], n_categories)
    total = list_weight.copy()
    if special.size:  # per shopper, the running sum of the special items' weights, category after category
        x = shelf[special]
        weight = rho[:, special_category]  # ρ − x, then u, then the weight w·e^u
        weight -= x
        price_term = np.empty_like(weight)
        _reference_terms(weight, gain, loss, price_term)
        beta = coef.price_sensitivity_scale * state.price_sensitivity
        np.multiply((-beta)[:, None], np.log(x), out=price_term)  # −β·ln x
        weight += price_term
        np.exp(weight, out=weight)
        weight *= within[special]
        padded = np.empty((n, special.size + 1))  # padded[:, k] = sum of the first k
        padded[:, 0] = 0.0
        running = padded[:, 1:]
        np.cumsum(weight, axis=1, out=running)
        first = np.searchsorted(special_category, np.arange(n_categories))  # each category's range in ``special``
        last = np.searchsorted(special_category, np.arange(n_categories), side="right")
        total += padded[:, last] - padded[:, first]
    chance = state.routine_purchase[:, None]
    logit = state.inventory.copy()  # the stock after the visit's purchase, then the log-odds of a line
    buyers = np.flatnonzero(offer_units > 0)
    logit[buyers, catalog.category.take(offer_item[buyers])] += offer_units[buyers]
    pantry = logit.sum(axis=1, keepdims=True) if coef.pantry_weight else None
    logit *= coef.inventory_weight
    if pantry is not None:
        logit += coef.pantry_weight * pantry
    with np.errstate(divide="ignore"):
        np.subtract(np.log(chance) - np.log1p(-chance), logit, out=logit)
        value = np.log(total)
        if coef.routine_value_weight != 1.0:  # ω = 1: one pass fewer over the array
            value *= coef.routine_value_weight
        logit += value
    np.negative(logit, out=logit)  # then 1 / (1 + e^{−logit}), the chance of a line
    np.exp(logit, out=logit)
    logit += 1.0
    np.divide(1.0, logit, out=logit)
    line = rng.random((n, n_categories)) < logit

    # the item: from the list-priced rest by popularity, or one of the special items by weight
    target = rng.random((n, n_categories))
    target *= total
    row, column = np.divmod(np.flatnonzero(line), n_categories)  # the lines, in order
    from_list = target[row, column] < list_weight[row, column]
    item = np.full((n, n_categories), -1)
    paid = np.ones((n, n_categories))
    pick_row, pick_column = row[from_list], column[from_list]
    rest = within.copy()
    rest[special] = 0.0
    start, count = catalog.category_start, catalog.category_count
    end = start + count - 1
    cumulative = np.cumsum(rest)
    before = np.append(0.0, cumulative)[start]  # the rest's weight in the categories before each one
    edges = catalog.category + (cumulative - np.repeat(before, count)) / np.repeat(
        np.maximum(cumulative[end] - before, 1e-300), count
    )
    at = pick_column + target[pick_row, pick_column] / np.maximum(list_weight[pick_row, pick_column], 1e-300)
    picked = np.minimum(np.searchsorted(edges, np.minimum(at, pick_column + 1), side="right"), end[pick_column])
    item[pick_row, pick_column] = picked
    if shelf is not None:
        paid[pick_row, pick_column] = shelf.take(picked)
    row, column = row[~from_list], column[~from_list]
    if row.size:  # a binary search in each pair's category range of the running sum
        goal = padded[row, first[column]] + target[row, column] - list_weight[row, column]
        low, high = first[column], last[column] - 1
        while (low < high).any():
            middle = (low + high) // 2
            below = running[row, middle] < goal
            low, high = np.where(below, middle + 1, low), np.where(below, high, middle)
        item[row, column] = special[low]
        paid[row, column] = shelf.take(special[low])
    lam = rho - paid
    np.maximum(lam, 0.0, out=lam)
    lam *= coef.stockpile_rate
    lam += state.routine_extra_units[:, None]
    extra = rng.poisson(lam)
    np.minimum(extra, round(coef.max_quantity) - 1, out=extra)
    extra += 1
    units = np.where(line, extra, 0)
    return RoutineLines(item=item, units=units, paid_fraction=paid)
