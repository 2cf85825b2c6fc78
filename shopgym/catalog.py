"""The catalog: items as arrays, its sampling, churn, and the platform's cheap candidate generator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shopgym.params import CatalogParams, RetrievalParams

__all__ = ["ITEM_FEATURES", "Appeal", "Catalog", "churn_catalog", "generate_candidates", "sample_catalog"]

#: Names of the static per-item observation features, in :attr:`Catalog.item_features` column order.
ITEM_FEATURES = ("log_price", "margin", "rating", "popularity")


@dataclass(frozen=True, eq=False)
class Appeal:
    """What the shopper population finds attractive in an item at list price, on average; popularity follows it.

    The appeal of item i is ``A_i = ⟨taste, v_i⟩ + q_i`` (utility units): the click utility of the population's
    mean taste at list price. Its raw popularity weight is
    ``exp(sharpness·(A_i + noise·ξ_i))``, ξ ~ N(0, 1), i.e. its logit share for the average shopper, blurred by
    what popularity owes to other causes.
    """

    taste: np.ndarray  # [d] affinity weight × the population's mean taste
    sharpness: float
    noise: float

    def appeal(self, embedding: np.ndarray, quality: np.ndarray) -> np.ndarray:
        """[n] appeal A_i of items with these embeddings [n, d] and qualities [n]."""
        return embedding @ self.taste + quality

    def weight(self, rng: np.random.Generator, embedding: np.ndarray, quality: np.ndarray) -> np.ndarray:
        """[n] raw popularity weights (one normal draw per item from ``rng``)."""
        noisy = self.appeal(embedding, quality) + self.noise * rng.standard_normal(quality.shape[0])
        # no shift by the maximum: the items of a later churn must be weighed on the same scale
        return np.exp(np.clip(self.sharpness * noisy, -700.0, 700.0))


#: Builds the population's :class:`Appeal` from the catalog's category centroids [C, d] (segment tastes are mixes
#: of them, so the appeal is known only once the centroids are drawn).
AppealOf = Callable[[np.ndarray], Appeal]


def quality_appeal(params: CatalogParams) -> AppealOf:
    """The appeal of a population with no taste and no price sensitivity: popularity follows quality alone."""

    def of(centroid: np.ndarray) -> Appeal:
        return Appeal(
            taste=np.zeros(centroid.shape[1]),
            sharpness=params.popularity_sharpness,
            noise=params.popularity_noise,
        )

    return of


@dataclass(frozen=True, eq=False)
class Catalog:
    """Items grouped by category (contiguous), most popular first within each category.

    Shapes: ``n`` items, ``C`` categories, embedding dimension ``d``. Prices and costs in currency units.
    """

    category: np.ndarray  # [n] int64
    embedding: np.ndarray  # [n, d] float64, unit norm (public)
    price: np.ndarray  # [n] list price
    cost: np.ndarray  # [n] unit cost
    quality: np.ndarray  # [n] utility units, shown to shoppers as a rating
    popularity_weight: np.ndarray  # [n] unnormalised base popularity, exp(s·(appeal + noise))
    popularity: np.ndarray  # [n] base popularity share, sums to 1
    popularity_within: np.ndarray  # [n] base popularity share within the item's category, sums to 1 per category
    category_centroid: np.ndarray  # [C, d] unit norm
    category_start: np.ndarray  # [C] first item of each category
    category_count: np.ndarray  # [C] items per category (≥ 1)
    category_log_price: np.ndarray  # [C] mean log price of each category (new items keep it)
    item_features: np.ndarray  # [n, len(ITEM_FEATURES) + d] float32, catalog-agnostic scaling
    price_log_mean: float  # mean log list price, the scale the observation and choice model use
    appeal: Appeal  # the population appeal popularity follows (new items of a churn use it too)

    @property
    def n_items(self) -> int:
        return int(self.category.shape[0])

    @property
    def n_categories(self) -> int:
        return int(self.category_start.shape[0])

    @property
    def embed_dim(self) -> int:
        return int(self.embedding.shape[1])

    @property
    def margin(self) -> np.ndarray:
        return 1.0 - self.cost / self.price


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _draw_items(
    rng: np.random.Generator,
    params: CatalogParams,
    category: np.ndarray,
    centroid: np.ndarray,
    cat_price: np.ndarray,
    appeal: Appeal,
) -> tuple[np.ndarray, ...]:
    n = category.shape[0]
    embedding = _unit(
        centroid[category]
        + params.cluster_spread * rng.standard_normal((n, params.embed_dim)) / np.sqrt(params.embed_dim)
    )
    price = np.exp(cat_price[category] + params.price_log_sd_within * rng.standard_normal(n))
    margin = rng.uniform(params.margin_low, params.margin_high, n)
    quality = params.quality_sd * rng.standard_normal(n)
    popularity = appeal.weight(rng, embedding, quality)
    return embedding, price, price * (1.0 - margin), quality, popularity


def _assemble(
    category: np.ndarray,
    embedding: np.ndarray,
    price: np.ndarray,
    cost: np.ndarray,
    quality: np.ndarray,
    popularity: np.ndarray,
    centroid: np.ndarray,
    category_log_price: np.ndarray,
    appeal: Appeal,
    order: np.ndarray | None = None,
) -> Catalog:
    # Sort by category, then by descending popularity, so the candidate generator can index contiguously.
    if order is None:
        order = np.lexsort((-popularity, category))
    category, embedding, price = category[order], embedding[order], price[order]
    cost, quality, popularity = cost[order], quality[order], popularity[order]
    n_categories = centroid.shape[0]
    count = np.bincount(category, minlength=n_categories)
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    share = popularity / popularity.sum()
    log_price = np.log(price)
    price_log_mean = float(log_price.mean())
    log_pop = np.log(share * category.shape[0])
    static = (log_price - price_log_mean, 1.0 - cost / price, quality, log_pop / max(log_pop.std(), 1e-6))
    features = np.empty((category.shape[0], len(static) + embedding.shape[1]), dtype=np.float32)
    for column, values in enumerate(static):  # filled in float32: no float64 copy of the whole table
        features[:, column] = values
    features[:, len(static) :] = embedding
    return Catalog(
        category=category,
        embedding=embedding,
        price=price,
        cost=cost,
        quality=quality,
        popularity_weight=popularity,
        popularity=share,
        popularity_within=share / np.bincount(category, share, n_categories)[category],
        category_centroid=centroid,
        category_start=start,
        category_count=count,
        category_log_price=category_log_price,
        item_features=features,
        price_log_mean=price_log_mean,
        appeal=appeal,
    )


def sample_catalog(rng: np.random.Generator, params: CatalogParams, appeal_of: AppealOf | None = None) -> Catalog:
    """Draw a catalog: category centroids, then items around them (every category gets ≥ 1 item).

    ``appeal_of`` gives the population's appeal once the centroids are drawn (see :class:`Appeal`); without it
    popularity follows quality alone.
    """
    n, n_categories, d = params.n_items, params.n_categories, params.embed_dim
    centroid = _unit(rng.standard_normal((n_categories, d)))
    cat_price = params.price_log_mean + params.price_log_sd_between * rng.standard_normal(n_categories)
    extra = rng.integers(0, n_categories, n - n_categories)
    category = np.concatenate([np.arange(n_categories), extra])
    appeal = (appeal_of or quality_appeal(params))(centroid)
    items = _draw_items(rng, params, category, centroid, cat_price, appeal)
    return _assemble(category, *items, centroid, cat_price, appeal)


def churn_catalog(
    rng: np.random.Generator, catalog: Catalog, params: CatalogParams, fraction: float, times: int = 1
) -> Catalog:
    """Replace ``fraction`` of the items (at least one) with new draws in the same categories, ``times`` over.

    The ``times`` churns replace distinct items, ``min(n, times · max(1, round(fraction · n)))`` in all (churns due
    within one step of the market clock are applied together, and no new item is replaced before anyone saw it).
    Only the replaced items are drawn; the others keep their relative order, so the new items are merged into it
    rather than the whole catalog sorted again. The ``catalog`` passed in is left as it was.
    """
    n = catalog.n_items
    n_new = min(n, times * max(1, round(fraction * n)))
    replaced = rng.choice(n, size=n_new, replace=False)
    category = catalog.category.copy()
    embedding, price, cost, quality, popularity = (
        catalog.embedding.copy(),
        catalog.price.copy(),
        catalog.cost.copy(),
        catalog.quality.copy(),
        catalog.popularity_weight.copy(),
    )
    new = _draw_items(
        rng, params, category[replaced], catalog.category_centroid, catalog.category_log_price, catalog.appeal
    )
    for array, values in zip((embedding, price, cost, quality, popularity), new, strict=True):
        array[replaced] = values
    order = _merged_order(category, popularity, replaced)
    return _assemble(
        category,
        embedding,
        price,
        cost,
        quality,
        popularity,
        catalog.category_centroid,
        catalog.category_log_price,
        catalog.appeal,
        order,
    )


def _merged_order(category: np.ndarray, popularity: np.ndarray, replaced: np.ndarray) -> np.ndarray:
    """What ``np.lexsort((-popularity, category))`` returns when every item but ``replaced`` is already in that
    order: the replaced items, sorted among themselves, are merged in by binary search (ties between equally
    popular items go by position, as in the stable sort)."""
    is_new = np.zeros(category.shape[0], dtype=bool)
    is_new[replaced] = True
    kept, new = np.flatnonzero(~is_new), np.flatnonzero(is_new)
    new = new[np.lexsort((new, -popularity[new], category[new]))]
    kept_category, kept_key = category[kept], -popularity[kept]
    new_category, new_key = category[new], -popularity[new]
    # the kept items of the new item's category, then bisection on (−popularity, position) within them
    low = np.searchsorted(kept_category, new_category, side="left")
    high = np.searchsorted(kept_category, new_category, side="right")
    while (searching := low < high).any():
        middle = (low + high) // 2
        probe = np.where(searching, middle, 0)
        key = kept_key[probe]
        before = searching & ((key < new_key) | ((key == new_key) & (kept[probe] < new)))
        low = np.where(before, middle + 1, low)
        high = np.where(searching & ~before, middle, high)
    return np.insert(kept, low, new)


def generate_candidates(
    rng: np.random.Generator,
    catalog: Catalog,
    category_weights: np.ndarray,
    n_candidates: int,
    retrieval: RetrievalParams,
) -> np.ndarray:
    """Propose ``n_candidates`` items for each shopper without scoring the catalog.

    Each slot k draws a category from ``category_weights`` [N, C] (rows sum to 1) mixed with a uniform share
    ``explore_fraction``. Within a category the shopper gets a popularity-biased anchor (items are stored most
    popular first) and slot k takes the item k places after it, wrapping around; so no item repeats in a
    candidate set when every category holds at least ``n_candidates`` items.

    Returns: [N, n_candidates] int64 item indices.
    """
    n_shoppers, n_categories = category_weights.shape
    cdf = np.multiply(category_weights, 1.0 - retrieval.explore_fraction)  # the weights, then their cdf, in place
    cdf += retrieval.explore_fraction / n_categories
    np.cumsum(cdf, axis=1, out=cdf)
    cdf /= cdf[:, -1:]
    uniforms = rng.random((n_shoppers, n_candidates + n_categories), dtype=np.float32)
    category = _draw_categories(cdf, uniforms[:, :n_candidates])
    count = catalog.category_count.take(category)
    row_offset = np.arange(n_shoppers)[:, None] * (n_candidates + n_categories) + n_candidates
    anchor = uniforms.take(row_offset + category) ** retrieval.popularity_skew
    within = (anchor * count).astype(np.int64) + np.arange(n_candidates)
    if catalog.category_count.min() >= n_candidates:
        within -= count * (within >= count)  # wrap around without an integer modulo
    else:
        within %= count
    return catalog.category_start.take(category) + within


def _draw_categories(cdf: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: for each uniform [N, K], the index of the first entry of its row's cdf [N, C] above it."""
    n_categories = cdf.shape[1]
    if n_categories <= 64:
        # counting the cdf entries below u, one category at a time, beats a search for few categories
        category = np.zeros(uniforms.shape, dtype=np.int8)
        for c in range(n_categories - 1):
            category += uniforms > cdf[:, c : c + 1]
        return category.astype(np.int64)
    row = np.arange(cdf.shape[0])[:, None]
    flat = np.searchsorted((cdf + row).ravel(), (uniforms + row).ravel(), side="right")
    return np.minimum(flat.reshape(uniforms.shape) - row * n_categories, n_categories - 1)
