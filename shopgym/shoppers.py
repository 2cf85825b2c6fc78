"""Shopper state as arrays over a batch of N shoppers, and drawing new shoppers from the segment mixture."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from shopgym.market import Market

__all__ = ["HIDDEN_FEATURES", "ShopperState", "sample_shoppers"]

#: Names of the hidden per-shopper quantities added to observations when ``observability="full"``.
HIDDEN_FEATURES = (
    "reference_price",
    "engagement",
    "price_sensitivity",
    "promo_affinity",
    "gain_coef",
    "loss_coef",
    "log_wallet",
)


@dataclass(eq=False)
class ShopperState:
    """All per-shopper arrays. Leading axis N; ``d`` embedding dim, ``C`` categories, ``K`` candidates.

    Hidden (the policy does not see these unless ``observability="full"``): ``segment``, ``taste``,
    ``price_sensitivity`` (β), ``promo_affinity``, ``gain_coef`` (η⁺), ``loss_coef`` (η⁻), ``reference_price``
    (ρ, a fraction of list price), ``fatigue`` [N, C], ``engagement`` ∈ [0, 1], ``wallet`` (currency) and its
    ``budget_income`` / ``budget_cap``.

    Observable history (what a platform logs): ``visits``, ``history_taste`` [N, d] (EMA of embeddings of
    clicked and bought items), ``category_share`` [N, C] (EMA of purchases per category), ``exposure`` [N, C]
    (EMA of what was shown), ``click_rate``, ``purchase_rate``, ``offered_discount`` (EMA), ``last_discount``,
    ``last_click``, ``last_purchase``, ``spend`` (EMA of spend, currency), and ``candidates`` [N, K] item ids.
    """

    segment: np.ndarray
    taste: np.ndarray
    price_sensitivity: np.ndarray
    promo_affinity: np.ndarray
    gain_coef: np.ndarray
    loss_coef: np.ndarray
    reference_price: np.ndarray
    fatigue: np.ndarray
    engagement: np.ndarray
    wallet: np.ndarray
    budget_income: np.ndarray
    budget_cap: np.ndarray
    visits: np.ndarray
    history_taste: np.ndarray
    category_share: np.ndarray
    exposure: np.ndarray
    click_rate: np.ndarray
    purchase_rate: np.ndarray
    offered_discount: np.ndarray
    last_discount: np.ndarray
    last_click: np.ndarray
    last_purchase: np.ndarray
    spend: np.ndarray
    candidates: np.ndarray

    @property
    def n(self) -> int:
        return int(self.segment.shape[0])

    def assign(self, rows: np.ndarray, other: ShopperState) -> None:
        """Overwrite ``rows`` (index or mask) with the shoppers of ``other`` (same number of rows)."""
        for field in dataclasses.fields(self):
            getattr(self, field.name)[rows] = getattr(other, field.name)

    def take(self, rows: np.ndarray | slice) -> ShopperState:
        """A copy of the given rows."""
        return ShopperState(**{f.name: getattr(self, f.name)[rows].copy() for f in dataclasses.fields(self)})

    def copy(self) -> ShopperState:
        return self.take(slice(None))


def sample_shoppers(
    rng: np.random.Generator, market: Market, n: int, n_categories: int, n_candidates: int
) -> ShopperState:
    """Draw ``n`` new shoppers (no history yet) from the market's segment mixture."""
    seg = market.segments
    segment = rng.choice(seg.weight.shape[0], size=n, p=seg.weight)
    d = seg.centroid.shape[1]
    noise = rng.standard_normal((n, d + 4))
    taste = seg.centroid[segment] + seg.taste_sd[segment, None] * noise[:, :d] / np.sqrt(d)
    taste /= np.maximum(np.linalg.norm(taste, axis=1, keepdims=True), 1e-12)
    beta_sd = seg.price_sensitivity_sd[segment]
    price_sensitivity = seg.price_sensitivity[segment] * np.exp(beta_sd * noise[:, d] - 0.5 * beta_sd**2)
    promo_affinity = seg.promo_affinity[segment] + seg.promo_affinity_sd[segment] * noise[:, d + 1]
    engagement = np.clip(seg.engagement0[segment] + seg.engagement_sd[segment] * noise[:, d + 2], 0.0, 1.0)
    income, cap = seg.budget_income[segment], seg.budget_cap[segment]
    wallet = np.minimum(cap, income * (1.0 + 4.0 * rng.random(n)))
    zeros = np.zeros(n)
    return ShopperState(
        segment=segment,
        taste=taste,
        price_sensitivity=price_sensitivity,
        promo_affinity=promo_affinity,
        gain_coef=seg.gain_coef[segment].copy(),
        loss_coef=seg.loss_coef[segment].copy(),
        reference_price=seg.reference_price0[segment].copy(),
        fatigue=np.zeros((n, n_categories)),
        engagement=engagement,
        wallet=wallet,
        budget_income=income.copy(),
        budget_cap=cap.copy(),
        visits=np.zeros(n, dtype=np.int64),
        history_taste=np.zeros((n, d)),
        category_share=np.full((n, n_categories), 1.0 / n_categories),
        exposure=np.zeros((n, n_categories)),
        click_rate=zeros.copy(),
        purchase_rate=zeros.copy(),
        offered_discount=zeros.copy(),
        last_discount=zeros.copy(),
        last_click=zeros.copy(),
        last_purchase=zeros.copy(),
        spend=zeros.copy(),
        candidates=np.zeros((n, n_candidates), dtype=np.int64),
    )
