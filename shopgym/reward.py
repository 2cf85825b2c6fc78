"""Reward components of a visit and the documented way they combine into the reward."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from shopgym.params import RewardParams

__all__ = ["COMPONENTS", "KpiReward", "RewardFunction", "reward_components"]

#: Named per-visit components, each an array [N], reported in every step's ``info``.
COMPONENTS = ("revenue", "profit", "discount_cost", "clicks", "purchases", "churn")


def reward_components(
    clicked: np.ndarray,
    purchased: np.ndarray,
    churned: np.ndarray,
    price: np.ndarray,
    cost: np.ndarray,
    paid_fraction: np.ndarray,
) -> dict[str, np.ndarray]:
    """Components for one visit per shopper. ``price``, ``cost``, ``paid_fraction`` are of the clicked item.

    revenue = p·x, profit = p·x − k, discount_cost = p·(1 − x) for a purchase (0 otherwise); clicks, purchases
    and churn are 0/1.
    """
    bought = purchased.astype(np.float64)
    return {
        "revenue": bought * price * paid_fraction,
        "profit": bought * (price * paid_fraction - cost),
        "discount_cost": bought * price * (1.0 - paid_fraction),
        "clicks": (clicked >= 0).astype(np.float64),
        "purchases": bought,
        "churn": churned.astype(np.float64),
    }


class RewardFunction(Protocol):
    """Maps the components of a visit to the scalar reward per shopper [N]."""

    def __call__(self, components: dict[str, np.ndarray]) -> np.ndarray: ...


class KpiReward:
    """``profit`` (default), ``revenue``, ``clicks``, or ``clv`` = profit − churn_penalty·churn."""

    def __init__(self, params: RewardParams) -> None:
        self.params = params

    def __call__(self, components: dict[str, np.ndarray]) -> np.ndarray:
        kind = self.params.kind
        if kind == "clv":
            return components["profit"] - self.params.churn_penalty * components["churn"]
        return components[kind].copy()
