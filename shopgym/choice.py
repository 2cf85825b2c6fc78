"""Click-then-purchase choice: utilities of a visit, MNL probabilities, and sampling.

For shopper n shown item i at slate position j with paid fraction x (discount δ = 1 − x):

* click utility   C = a·⟨u, v_i⟩ + q_i + π·D − κ·φ_{c(i)} − θ·ln(1 + j), where the *deal signal*
  D = clip((ρ − x)/(1 − x), 0, 1) for δ > 0 (else 0) is the share of the advertised discount that beats the
  shopper's reference price: a first promotion attracts fully, one the shopper has come to expect does not
* leave utility   C₀ = u_out + shift − w_e·(e − ½)
* click choice    P(click i) = exp(C_i) / (exp(C₀) + Σ_k exp(C_k))   (multinomial logit with outside option)
* purchase        P(buy | click i) = σ(W_i) with
  W = b₀ + a_b·⟨u, v_i⟩ − β·s·(ln(p_i·x) − μ_p) + η⁺·max(ρ − x, 0) − η⁻·max(x − ρ, 0),
  and 0 when p_i·x exceeds the shopper's wallet.

The functions here are pure; a :class:`ChoiceModel` turns utilities into sampled outcomes and can be replaced
by a fake in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from shopgym.catalog import Catalog
from shopgym.market import Coefficients
from shopgym.shoppers import ShopperState

__all__ = [
    "ChoiceModel",
    "MultinomialLogit",
    "VisitUtilities",
    "click_probabilities",
    "deal_signal",
    "purchase_probabilities",
    "visit_utilities",
]


@dataclass(frozen=True, eq=False)
class VisitUtilities:
    """Utilities of one visit. ``click`` and ``purchase`` are [N, S] (−inf where nothing is shown or, for
    ``purchase``, where the shopper cannot afford the item); ``outside`` is [N]."""

    click: np.ndarray
    outside: np.ndarray
    purchase: np.ndarray


def visit_utilities(
    state: ShopperState, catalog: Catalog, coef: Coefficients, items: np.ndarray, paid_fraction: np.ndarray
) -> VisitUtilities:
    """Utilities for showing ``items`` [N, S] (catalog ids, −1 = empty slot) at ``paid_fraction`` [N, S]."""
    shown = items >= 0
    safe = np.where(shown, items, 0)
    affinity = np.einsum("nsd,nd->ns", np.take(catalog.embedding, safe, axis=0), state.taste)
    flat_category = np.take(catalog.category, safe) + np.arange(safe.shape[0])[:, None] * catalog.n_categories
    fatigue = np.take(state.fatigue, flat_category)
    click = coef.affinity_weight * affinity + np.take(catalog.quality, safe) - coef.fatigue_weight * fatigue
    click += state.promo_affinity[:, None] * deal_signal(state.reference_price[:, None], paid_fraction)
    if items.shape[1] > 1:
        click -= coef.position_decay * np.log1p(np.arange(items.shape[1]))
    outside = coef.outside_utility + coef.outside_shift - coef.engagement_weight * (state.engagement - 0.5)

    paid_price = np.take(catalog.price, safe) * paid_fraction
    rho = state.reference_price[:, None]
    beta = (coef.price_sensitivity_scale * state.price_sensitivity)[:, None]
    purchase = (
        coef.purchase_bias
        + coef.purchase_affinity_weight * affinity
        - beta * (np.log(paid_price) - catalog.price_log_mean)
        + state.gain_coef[:, None] * np.maximum(rho - paid_fraction, 0.0)
        - state.loss_coef[:, None] * np.maximum(paid_fraction - rho, 0.0)
    )
    click[~shown] = -np.inf
    purchase[~shown | (paid_price > state.wallet[:, None])] = -np.inf
    return VisitUtilities(click=click, outside=outside, purchase=purchase)


def deal_signal(reference_price: np.ndarray, paid_fraction: np.ndarray) -> np.ndarray:
    """Share of an advertised discount 1 − x that beats the reference price ρ, in [0, 1] (0 without a discount)."""
    discount = 1.0 - paid_fraction
    surprise = np.clip((reference_price - paid_fraction) / np.maximum(discount, 1e-12), 0.0, 1.0)
    return np.where(discount > 0.0, surprise, 0.0)


def click_probabilities(utilities: VisitUtilities) -> np.ndarray:
    """[N, S + 1] probabilities; column 0 is leaving without a click. Rows sum to one."""
    logits = np.concatenate([utilities.outside[:, None], utilities.click], axis=1)
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def purchase_probabilities(utilities: VisitUtilities) -> np.ndarray:
    """[N, S] probability of clicking item j and then buying it (the expected purchases of the visit)."""
    return click_probabilities(utilities)[:, 1:] / (1.0 + np.exp(-utilities.purchase))


class ChoiceModel(Protocol):
    """Turns the utilities of a visit into an outcome."""

    def choose(self, rng: np.random.Generator, utilities: VisitUtilities) -> tuple[np.ndarray, np.ndarray]:
        """Return (clicked slate position [N] int, −1 for none; purchased [N] bool)."""
        ...


class MultinomialLogit:
    """Sample a click from the MNL over shown items + leaving, then a purchase from its logit."""

    def choose(self, rng: np.random.Generator, utilities: VisitUtilities) -> tuple[np.ndarray, np.ndarray]:
        n = utilities.outside.shape[0]
        uniforms = rng.random((n, 2))
        cdf = np.cumsum(click_probabilities(utilities), axis=1)
        # column index of the first cdf entry above u; 0 = left without clicking
        pick = (cdf[:, :-1] < uniforms[:, :1]).sum(axis=1)
        clicked = pick - 1
        rows = np.arange(n)
        purchase_logit = utilities.purchase[rows, np.maximum(clicked, 0)]
        with np.errstate(over="ignore"):  # exp(-logit) = inf for a hopeless purchase: then u·inf < 1 is False
            purchased = (clicked >= 0) & (uniforms[:, 1] * (1.0 + np.exp(-purchase_logit)) < 1.0)
        return clicked, purchased
