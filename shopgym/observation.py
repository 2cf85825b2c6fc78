"""Fixed-size, catalog-agnostic observations.

An observation is one float32 vector: shopper features, then the same features for each of the K candidate
items. Nothing in it depends on the catalog's size or item ids, so a policy trained on one catalog runs on
another (the precondition for transfer). ``full=True`` appends the hidden state for fully observed studies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopgym.catalog import ITEM_FEATURES, Catalog
from shopgym.shoppers import HIDDEN_FEATURES, ShopperState

__all__ = ["feature_bounds", "item_feature_names", "observe", "shopper_feature_names"]

#: Bounds of features that have them; every other feature is unbounded and carries ±UNBOUNDED (finite, so
#: space checkers and normalisers can work with the Box).
#:
#: Every observation of every valid scenario lies in these bounds. Most features stay inside by construction
#: (rates and shares are averages of values in [0, 1]; ρ averages ρ₀ ≤ 2 with paid fractions ≤ 1; log prices
#: and ratings are at most a few hundred within the parameter ranges, popularity (a z-score) at most √n ≤ 1000;
#: spend and wallet are at most 1e6).
#: Five are clipped in :func:`observe`, the only features whose values the parameter ranges do not bound or that
#: rounding can push out: ``history_affinity`` and ``true_affinity`` to [−1, 1] (float32 dot products of unit
#: vectors can exceed 1 by an ulp), ``category_fatigue`` (grows without limit when ``fatigue_decay`` = 1),
#: ``category_inventory`` (grows without limit when ``consumption_rate`` = 0) and ``price_sensitivity``
#: (log-normal) to UNBOUNDED. The simulator's state itself is never clipped.
UNBOUNDED = 1e6
_BOUNDS = {
    "time_fraction": (0.0, 1.0),
    "click_rate": (0.0, 1.0),
    "purchase_rate": (0.0, 1.0),
    "offered_discount": (0.0, 1.0),
    "last_discount": (0.0, 1.0),
    "last_click": (0.0, 1.0),
    "last_purchase": (0.0, 1.0),
    "log_spend": (0.0, UNBOUNDED),
    "reference_price": (0.0, 2.0),
    "deal_wear": (0.0, 1.0),
    "category_reference_price": (0.0, 2.0),
    "category_inventory": (0.0, UNBOUNDED),
    "engagement": (0.0, 1.0),
    "margin": (0.0, 1.0),
    "history_affinity": (-1.0, 1.0),
    "category_share": (0.0, 1.0),
    "category_exposure": (0.0, 1.0),
    "true_affinity": (-1.0, 1.0),
    "log_wallet": (0.0, UNBOUNDED),
}

_SHOPPER = (
    "time_fraction",
    "click_rate",
    "purchase_rate",
    "offered_discount",
    "last_discount",
    "last_click",
    "last_purchase",
    "log_spend",
)
_ITEM_DYNAMIC = ("history_affinity", "category_share", "category_exposure")
_ITEM_HIDDEN = ("true_affinity", "category_fatigue", "category_reference_price", "category_inventory")


def shopper_feature_names(full: bool) -> tuple[str, ...]:
    """Names of the shopper block's columns (``full``: with the hidden state)."""
    return _SHOPPER + (HIDDEN_FEATURES if full else ())


def item_feature_names(embed_dim: int, full: bool) -> tuple[str, ...]:
    """Names of each candidate block's columns (``full``: with the hidden per-item state)."""
    embedding = tuple(f"embedding_{i}" for i in range(embed_dim))
    return ITEM_FEATURES + embedding + _ITEM_DYNAMIC + (_ITEM_HIDDEN if full else ())


@dataclass(frozen=True)
class ObservationLayout:
    """Where each named feature sits in a flat observation: shopper features first, then per candidate."""

    shopper_names: tuple[str, ...]
    item_names: tuple[str, ...] = ()
    n_candidates: int = 0

    def shopper(self, obs: np.ndarray, name: str) -> np.ndarray:
        """[N] the shopper feature ``name`` of a batch of observations [N, F]."""
        return obs[:, self.shopper_names.index(name)]

    def items(self, obs: np.ndarray) -> np.ndarray:
        """[N, K, F_item] view of the candidate features."""
        return obs[:, len(self.shopper_names) :].reshape(obs.shape[0], self.n_candidates, len(self.item_names))

    def item(self, obs: np.ndarray, name: str) -> np.ndarray:
        """[N, K] the candidate feature ``name``."""
        return self.items(obs)[:, :, self.item_names.index(name)]


def feature_bounds(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) float32 arrays for the named features (embeddings lie in [-1, 1])."""
    low, high = [], []
    for name in names:
        bound = (-1.0, 1.0) if name.startswith("embedding_") else _BOUNDS.get(name, (-UNBOUNDED, UNBOUNDED))
        low.append(bound[0])
        high.append(bound[1])
    return np.array(low, dtype=np.float32), np.array(high, dtype=np.float32)


def observation_names(n_candidates: int, embed_dim: int, full: bool) -> tuple[str, ...]:
    """Names of every entry of the flat observation, e.g. ``candidate_3.margin``."""
    items = item_feature_names(embed_dim, full)
    return shopper_feature_names(full) + tuple(f"candidate_{k}.{name}" for k in range(n_candidates) for name in items)


def observe(state: ShopperState, catalog: Catalog, horizon: int, full: bool) -> np.ndarray:
    """[N, F_shopper + K·F_item] float32 observation of every shopper and its candidates."""
    n, k = state.candidates.shape
    price_scale = np.exp(catalog.price_log_mean)
    shopper = [
        np.minimum(state.visits / horizon, 1.0),
        state.click_rate,
        state.purchase_rate,
        state.offered_discount,
        state.last_discount,
        state.last_click,
        state.last_purchase,
        np.log1p(state.spend / price_scale),
    ]
    if full:
        shopper += [
            state.reference_price.mean(axis=1),
            state.deal_wear,
            state.engagement,
            np.minimum(state.price_sensitivity, UNBOUNDED),
            state.promo_affinity,
            state.gain_coef,
            state.loss_coef,
            np.log1p(np.maximum(state.wallet, 0.0) / price_scale),
        ]
    cand = state.candidates
    category = catalog.category.take(cand)
    flat_category = category + np.arange(n)[:, None] * catalog.n_categories
    static = catalog.item_features.take(cand, axis=0)  # [N, K, F_static] float32
    n_static = static.shape[2]
    embedding = static[:, :, n_static - catalog.embed_dim :]
    dynamic = [
        _affinity(embedding, state.history_taste),
        state.category_share.take(flat_category),
        state.exposure.take(flat_category),
    ]
    if full:
        dynamic += [
            _affinity(embedding, state.taste),
            np.minimum(state.fatigue.take(flat_category), UNBOUNDED),
            state.reference_price.take(flat_category),
            np.minimum(state.inventory.take(flat_category), UNBOUNDED),
        ]
    n_item = n_static + len(dynamic)
    n_shopper = len(shopper)
    out = np.empty((n, n_shopper + k * n_item), dtype=np.float32)
    for column, values in enumerate(shopper):  # column by column: cheaper than np.column_stack at N = 1
        out[:, column] = values
    items = out[:, n_shopper:].reshape(n, k, n_item)
    items[:, :, :n_static] = static
    for column, values in enumerate(dynamic, start=n_static):
        items[:, :, column] = values
    return out


def _affinity(embedding: np.ndarray, taste: np.ndarray) -> np.ndarray:
    """[N, K] dot products of the candidates' embeddings [N, K, d] (float32) with a taste [N, d], in [−1, 1]."""
    dot = np.matmul(embedding, taste.astype(np.float32)[:, :, None])[:, :, 0]
    np.maximum(dot, -1.0, out=dot)
    return np.minimum(dot, 1.0, out=dot)
