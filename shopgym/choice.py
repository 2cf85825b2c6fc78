"""Click-then-purchase choice: the utilities of a visit, their probabilities, and sampling on top of them.

For shopper n shown item i of category c at slate position j with paid fraction x (discount δ = 1 − x), with
ρ_c the shopper's reference price for the category and ``ℓ = ln x`` the log of the price paid against the list
price. List prices are the items' value to the average shopper (a television is not worse than a battery for
costing more), so utility responds to the price charged relative to list; price levels act through the budget:

* deal response   D = 1 − exp(−(ρ_c − x − d₀)⁺ / d_s) for an advertised discount (x < 1), else 0: zero until
  the price is d₀ below what the shopper expects (latitude of acceptance), then growing with the depth and
  saturating; scaled by the promotion affinity π and worn out by frequent deals, π·(1 − ω·w)
* click utility   C = a·⟨u, v_i⟩ + q_i + π·(1 − ω·w)·D − κ·φ_c − α·χβ·ℓ − θ·ln(1 + j)
* leave utility   C₀ = u_out + shift − w_e·(e − ½)
* click choice    a two-level nested logit: the shown items of one category form a nest (dissimilarity λ), the
  nests of the slate an upper nest (dissimilarity μ ≥ λ) against leaving, so a near-duplicate splits demand
  instead of adding to it (λ = μ = 1 is the multinomial logit)
* purchase        P(buy | click i) = σ(W), W = b₀ + a_b·⟨u, v_i⟩ − (1 − α)·χβ·ℓ + η⁺·(ρ_c − x)⁺ − η⁻·(x − ρ_c)⁺
  − ψ·I_c − r_o·1[i owned] (I_c the shopper's stock of the category; an item among the shopper's last 16
  purchases is "owned"), and no purchase when p_i·x exceeds the wallet
* quantity        1 + min(X, Q − 1) units with X ~ Poisson(r·(ρ_c − x)⁺): shoppers stock up on deals; Q is the
  smaller of ``max_quantity`` and the units the wallet affords

The functions here are pure. A :class:`ChoiceModel` turns utilities into probabilities (:meth:`probabilities`,
what oracles and the dynamic programs read) and samples outcomes from them (:meth:`choose`); tests replace it by
a fake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from shopgym.catalog import Catalog
from shopgym.market import Coefficients
from shopgym.shoppers import ShopperState

__all__ = [
    "Choice",
    "ChoiceModel",
    "NestedLogit",
    "VisitProbabilities",
    "VisitUtilities",
    "deal_response",
    "visit_utilities",
]


@dataclass(frozen=True, eq=False)
class VisitUtilities:
    """Utilities of one visit of N shoppers shown S slots.

    ``click``, ``purchase`` [N, S]: −inf where nothing is shown (and, for ``purchase``, where the shopper cannot
    afford one unit); ``outside`` [N]; ``nest`` [N, S] category of each slot (any value where nothing is shown);
    ``extra_units`` [N, S] Poisson rate of units bought beyond the first; ``max_units`` [N, S] the most units a
    purchase can have (the quantity cap or what the wallet affords). ``category_nest`` (λ) and ``slate_nest`` (μ)
    are the nested logit's dissimilarities, ``n_nests`` the number of categories.
    """

    click: np.ndarray
    outside: np.ndarray
    purchase: np.ndarray
    nest: np.ndarray
    extra_units: np.ndarray
    max_units: np.ndarray
    category_nest: float = 1.0
    slate_nest: float = 1.0
    n_nests: int = 1

    def single_items(self) -> VisitUtilities:
        """The same utilities with every slot shown alone: N·S visits of one slot each (row n·S + j is slot j of
        shopper n). Oracles score arms this way, from utilities computed without the position term."""
        n, s = self.click.shape

        def alone(values: np.ndarray) -> np.ndarray:
            return values.reshape(n * s, 1)

        return VisitUtilities(
            click=alone(self.click),
            outside=np.repeat(self.outside, s),
            purchase=alone(self.purchase),
            nest=alone(self.nest),
            extra_units=alone(self.extra_units),
            max_units=alone(self.max_units),
            category_nest=self.category_nest,
            slate_nest=self.slate_nest,
            n_nests=self.n_nests,
        )


@dataclass(frozen=True, eq=False)
class VisitProbabilities:
    """``click`` [N, S + 1]: column 0 is leaving, column j + 1 clicking slot j (rows sum to one); ``buy`` [N, S]:
    clicking slot j and buying it; ``units`` [N, S]: expected units of a purchase of slot j (≥ 1)."""

    click: np.ndarray
    buy: np.ndarray
    units: np.ndarray


@dataclass(frozen=True, eq=False)
class Choice:
    """Sampled outcome of a visit: ``clicked`` [N] slot (−1 = none), ``purchased`` [N] bool, ``units`` [N] int
    (0 without a purchase)."""

    clicked: np.ndarray
    purchased: np.ndarray
    units: np.ndarray


def deal_response(
    reference_price: np.ndarray, paid_fraction: np.ndarray, threshold: float, saturation: float
) -> np.ndarray:
    """Response in [0, 1) to an advertised discount 1 − x seen against the reference price ρ: zero below the
    threshold ``ρ − x ≤ d₀``, then ``1 − exp(−(ρ − x − d₀)/d_s)``; zero without a discount (x ≥ 1)."""
    discounted = paid_fraction < 1.0
    if not discounted.any():
        return np.zeros(np.broadcast_shapes(np.shape(reference_price), np.shape(paid_fraction)))
    beyond = np.maximum(reference_price - paid_fraction - threshold, 0.0)
    return np.where(discounted, -np.expm1(-beyond / saturation), 0.0)


def visit_utilities(
    state: ShopperState, catalog: Catalog, coef: Coefficients, items: np.ndarray, paid_fraction: np.ndarray
) -> VisitUtilities:
    """Utilities for showing ``items`` [N, S] (catalog ids, −1 = empty slot) at ``paid_fraction`` [N, S]."""
    n = items.shape[0]
    shown = items >= 0
    safe = np.where(shown, items, 0)
    affinity = np.einsum("nsd,nd->ns", catalog.embedding.take(safe, axis=0), state.taste)
    category = catalog.category.take(safe)
    flat_category = category + np.arange(n)[:, None] * catalog.n_categories
    rho = state.reference_price.take(flat_category)
    paid_price = catalog.price.take(safe) * paid_fraction
    log_price = np.log(paid_fraction)
    beta = (coef.price_sensitivity_scale * state.price_sensitivity)[:, None]
    promo = state.promo_affinity * (1.0 - coef.wearout_weight * state.deal_wear)

    click = coef.affinity_weight * affinity + catalog.quality.take(safe)
    click -= coef.fatigue_weight * state.fatigue.take(flat_category)
    click += promo[:, None] * deal_response(rho, paid_fraction, coef.deal_threshold, coef.deal_saturation)
    click -= coef.click_price_share * beta * log_price
    if items.shape[1] > 1:
        click -= coef.position_decay * np.log1p(np.arange(items.shape[1]))
    outside = coef.outside_utility + coef.outside_shift - coef.engagement_weight * (state.engagement - 0.5)

    gain = np.maximum(rho - paid_fraction, 0.0)
    purchase = (
        coef.purchase_bias
        + coef.purchase_affinity_weight * affinity
        - (1.0 - coef.click_price_share) * beta * log_price
        + state.gain_coef[:, None] * gain
        - state.loss_coef[:, None] * np.maximum(paid_fraction - rho, 0.0)
        - coef.inventory_weight * state.inventory.take(flat_category)
    )
    owned = (items[:, :, None] == state.owned[:, None, :]).any(axis=2)
    purchase -= coef.repurchase_penalty * owned
    with np.errstate(divide="ignore", over="ignore"):
        affordable = np.floor(state.wallet[:, None] / paid_price)
    max_units = np.minimum(np.maximum(affordable, 0), round(coef.max_quantity)).astype(np.int64)
    click[~shown] = -np.inf
    purchase[~shown | (max_units < 1)] = -np.inf
    return VisitUtilities(
        click=click,
        outside=outside,
        purchase=purchase,
        nest=category,
        extra_units=coef.stockpile_rate * gain,
        max_units=np.maximum(max_units, 1),
        category_nest=coef.category_nest,
        slate_nest=coef.slate_nest,
        n_nests=catalog.n_categories,
    )


def _click_probabilities(u: VisitUtilities) -> np.ndarray:
    """[N, S + 1] nested-logit click probabilities; column 0 is leaving."""
    n, s = u.click.shape
    shown = np.isfinite(u.click)
    if s == 1:  # one slot: its nest holds one item, so both levels reduce to a binary logit
        with np.errstate(over="ignore"):
            p_click = np.where(shown[:, 0], 1.0 / (1.0 + np.exp(u.outside - u.click[:, 0])), 0.0)
        return np.stack([1.0 - p_click, p_click], axis=1)
    lam, mu = u.category_nest, u.slate_nest
    z = np.where(shown, u.click / lam, -np.inf)
    z_max = np.max(z, axis=1, initial=-np.inf)
    z_max = np.where(np.isfinite(z_max), z_max, 0.0)
    weight = np.exp(z - z_max[:, None])  # 0 where nothing is shown
    flat = np.where(shown, u.nest, 0) + np.arange(n)[:, None] * u.n_nests
    nest_sum = np.bincount(flat[shown], weights=weight[shown], minlength=n * u.n_nests)
    nest_count = np.bincount(flat[shown], minlength=n * u.n_nests)
    within = nest_sum.take(flat)  # Σ of the slot's own nest
    count = nest_count.take(flat)
    with np.errstate(divide="ignore"):
        upper = np.where(shown, (lam / mu) * (z_max[:, None] + np.log(within)), -np.inf)  # IV_c / μ
    upper_max = np.max(upper, axis=1, initial=-np.inf)
    upper_max = np.where(np.isfinite(upper_max), upper_max, 0.0)
    nest_weight = np.exp(upper - upper_max[:, None])
    total = (nest_weight / np.maximum(count, 1)).sum(axis=1)  # each nest once
    with np.errstate(divide="ignore", invalid="ignore"):
        inclusive = mu * (upper_max + np.log(total))  # IV of the whole slate
        p_click = np.where(total > 0, 1.0 / (1.0 + np.exp(u.outside - inclusive)), 0.0)
        p_slot = np.where(shown, (nest_weight / total[:, None]) * (weight / within), 0.0)
    return np.column_stack([1.0 - p_click, p_click[:, None] * p_slot])


def _poisson_survival(rate: np.ndarray, max_units: np.ndarray) -> np.ndarray:
    """[..., Q − 1] P(X ≥ k) for k = 1..Q − 1, X ~ Poisson(rate), zeroed for k ≥ ``max_units``, Q the largest."""
    top = int(max_units.max(initial=1))
    survival = np.zeros((*rate.shape, max(top - 1, 0)))
    pmf = np.exp(-rate)
    cdf = pmf.copy()
    for k in range(1, top):
        survival[..., k - 1] = np.where(k < max_units, 1.0 - cdf, 0.0)
        pmf = pmf * rate / k
        cdf = cdf + pmf
    return np.clip(survival, 0.0, 1.0)


class ChoiceModel(Protocol):
    """Turns the utilities of a visit into probabilities and sampled outcomes."""

    def probabilities(self, utilities: VisitUtilities) -> VisitProbabilities:
        """The exact probabilities of every outcome (what oracles and dynamic programs read)."""
        ...

    def choose(self, rng: np.random.Generator, utilities: VisitUtilities) -> Choice:
        """A sampled outcome per shopper."""
        ...


class NestedLogit:
    """The model's choice: a nested logit over the slate's categories for the click, a logit for the purchase and
    a capped Poisson for the units beyond the first (see the module docstring). Sampling uses three uniforms per
    shopper: the click by inverse CDF, the purchase, the units."""

    def probabilities(self, utilities: VisitUtilities) -> VisitProbabilities:
        click = _click_probabilities(utilities)
        buy = click[:, 1:] / (1.0 + np.exp(-utilities.purchase))
        units = 1.0 + _poisson_survival(utilities.extra_units, utilities.max_units).sum(axis=-1)
        return VisitProbabilities(click=click, buy=buy, units=units)

    def choose(self, rng: np.random.Generator, utilities: VisitUtilities) -> Choice:
        n = utilities.outside.shape[0]
        uniforms = rng.random((n, 3))
        cdf = np.cumsum(_click_probabilities(utilities), axis=1)
        # column index of the first cdf entry above u; 0 = left without clicking
        clicked = (cdf[:, :-1] < uniforms[:, :1]).sum(axis=1) - 1
        rows, at = np.arange(n), np.maximum(clicked, 0)
        purchase_logit = utilities.purchase[rows, at]
        with np.errstate(over="ignore"):  # exp(-logit) = inf for a hopeless purchase: then u·inf < 1 is False
            purchased = (clicked >= 0) & (uniforms[:, 1] * (1.0 + np.exp(-purchase_logit)) < 1.0)
        rate, most = utilities.extra_units[rows, at], utilities.max_units[rows, at]
        stocking = purchased & (rate > 0.0) & (most > 1)
        units = purchased.astype(np.int64)
        if stocking.any():  # only deals below the reference price can sell more than one unit
            survival = _poisson_survival(rate[stocking], most[stocking])
            units[stocking] += (uniforms[stocking, 2:3] < survival).sum(axis=1)
        return Choice(clicked=clicked, purchased=purchased, units=units)
