"""Reward components of a visit and the documented way they combine into the reward."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from shopgym.params import RewardParams

__all__ = ["COMPONENTS", "KpiReward", "RewardFunction", "expected_components", "reward_components"]

#: Named per-visit components, each an array [N], reported in every step's ``info``.
COMPONENTS = ("revenue", "profit", "discount_cost", "clicks", "purchases", "units", "churn")


def reward_components(
    clicked: np.ndarray,
    units: np.ndarray,
    churned: np.ndarray,
    price: np.ndarray,
    cost: np.ndarray,
    paid_fraction: np.ndarray,
) -> dict[str, np.ndarray]:
    """Components for one visit per shopper. ``units`` [N] bought (0 = no purchase); ``price``, ``cost``,
    ``paid_fraction`` are of the clicked item.

    With q units: revenue = q·p·x, profit = q·(p·x − k), discount_cost = q·p·(1 − x)⁺; clicks, purchases and
    churn are 0/1, units is q.
    """
    q = np.asarray(units, dtype=np.float64)
    return expected_components((clicked >= 0), (q > 0), q, churned, price, cost, paid_fraction)


def expected_components(
    click: np.ndarray,
    buy: np.ndarray,
    units: np.ndarray,
    churn: np.ndarray,
    price: np.ndarray,
    cost: np.ndarray,
    paid_fraction: np.ndarray,
) -> dict[str, np.ndarray]:
    """Components from probabilities (or 0/1 outcomes): ``click`` P(click), ``buy`` P(purchase), ``units`` the
    expected units of a purchase (so ``buy·units`` is the expected units of the visit), ``churn`` P(churn), and the
    item's ``price``, ``cost`` and ``paid_fraction`` (all broadcast together)."""
    sold = np.asarray(buy, dtype=np.float64) * units
    return {
        "revenue": sold * price * paid_fraction,
        "profit": sold * (price * paid_fraction - cost),
        "discount_cost": sold * price * np.maximum(1.0 - paid_fraction, 0.0),
        "clicks": np.asarray(click, dtype=np.float64),
        "purchases": np.asarray(buy, dtype=np.float64),
        "units": sold,
        "churn": np.asarray(churn, dtype=np.float64),
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
