"""Arms and their observable features, shared by the greedy model and the contextual bandits.

An *arm* is one thing a policy can do for one shopper at one visit: a (candidate, level) pair. Recommend has K
arms (level 0 = list price), Promote has L (the one candidate at each discount level), Marketing K·L, Pricing
L (price levels). Features are built from the observation only.
"""

from __future__ import annotations

import numpy as np

from shopgym.agents.base import TaskInfo

__all__ = ["ARM_FEATURES", "arm_features", "arm_grid", "unit_profit"]

ARM_FEATURES = (
    "bias",
    "log_price",
    "margin",
    "rating",
    "popularity",
    "history_affinity",
    "category_share",
    "category_exposure",
    "discount",
    "discount_squared",
    "unit_profit",
    "unit_profit*history_affinity",
    "unit_profit*rating",
    "unit_profit*discount",
    "unit_profit*purchase_rate",
    "unit_profit*click_rate",
    "discount*offered_discount",
    "discount*history_affinity",
    "click_rate",
    "purchase_rate",
    "offered_discount",
    "time_fraction",
)


def arm_grid(info: TaskInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate position [A], level index [A], paid fraction [A]) of every arm of the task."""
    if info.name == "pricing":
        levels = np.arange(info.price_levels.size)
        return np.zeros_like(levels), levels, info.price_levels.astype(np.float64)
    discounts = info.discount_levels if info.name in ("promote", "marketing") else np.zeros(1)
    n_items = info.n_candidates
    item = np.repeat(np.arange(n_items), discounts.size)
    level = np.tile(np.arange(discounts.size), n_items)
    return item, level, 1.0 - discounts[level]


def unit_profit(info: TaskInfo, obs: np.ndarray) -> np.ndarray:
    """[N, A] profit of a purchase of each arm, in units of the catalog's typical price: e^{log p}·(x − 1 + m)."""
    item, _, paid = arm_grid(info)
    layout = info.layout
    price = np.exp(layout.item(obs, "log_price"))[:, item]
    margin = layout.item(obs, "margin")[:, item]
    return price * (paid[None, :] - 1.0 + margin)


def arm_features(info: TaskInfo, obs: np.ndarray) -> np.ndarray:
    """[N, A, len(ARM_FEATURES)] float64 features of every arm (not defined for Pricing: its state is ρ)."""
    if info.name == "pricing":
        raise ValueError("arm features are defined for tasks with candidate items, not pricing")
    layout = info.layout
    item, _, paid = arm_grid(info)
    n, n_arms = obs.shape[0], item.size

    def per_item(name: str) -> np.ndarray:
        return layout.item(obs, name).astype(np.float64)[:, item]

    def per_shopper(name: str) -> np.ndarray:
        return np.broadcast_to(layout.shopper(obs, name).astype(np.float64)[:, None], (n, n_arms))

    discount = np.broadcast_to(1.0 - paid, (n, n_arms))
    profit = unit_profit(info, obs)
    affinity, rating = per_item("history_affinity"), per_item("rating")
    columns = [
        np.ones((n, n_arms)),
        per_item("log_price"),
        per_item("margin"),
        rating,
        per_item("popularity"),
        affinity,
        per_item("category_share"),
        per_item("category_exposure"),
        discount,
        discount**2,
        profit,
        profit * affinity,
        profit * rating,
        profit * discount,
        profit * per_shopper("purchase_rate"),
        profit * per_shopper("click_rate"),
        discount * per_shopper("offered_discount"),
        discount * affinity,
        per_shopper("click_rate"),
        per_shopper("purchase_rate"),
        per_shopper("offered_discount"),
        per_shopper("time_fraction"),
    ]
    return np.stack(columns, axis=2)
