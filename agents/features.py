"""Observable features of arms, shared by the greedy model and the contextual bandits.

An *arm* is one thing a policy can do for one shopper at one visit: a (candidate, level) pair; the task lists its
arms (:meth:`shopgym.tasks.Task.arms`: Recommend has K, Promote L, Marketing K·L). Features are built from the
observation only, so they need a task whose observation describes its candidates (``item_features``).
"""

from __future__ import annotations

import numpy as np

from shopgym.agents.base import TaskInfo

__all__ = ["ARM_FEATURES", "arm_features", "unit_profit"]

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


def unit_profit(info: TaskInfo, obs: np.ndarray) -> np.ndarray:
    """[N, A] profit of a purchase of each arm, in units of the catalog's typical price: e^{log p}·(x − 1 + m)."""
    item, _, paid = info.task.arms()
    layout = info.layout
    price = np.exp(layout.item(obs, "log_price"))[:, item]
    margin = layout.item(obs, "margin")[:, item]
    return price * (paid[None, :] - 1.0 + margin)


def arm_features(info: TaskInfo, obs: np.ndarray) -> np.ndarray:
    """[N, A, len(ARM_FEATURES)] float64 features of every arm (defined where the observation describes the
    candidates: not for Pricing, whose state is ρ)."""
    if not info.task.item_features:
        raise ValueError(f"arm features need candidate item features, which the {info.name!r} task does not observe")
    layout = info.layout
    item, _, paid = info.task.arms()
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
