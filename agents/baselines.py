"""The policies marketers and recommender teams use today, acting on observations only.

* ``random``: uniform over the action space.
* ``popular``: the most popular candidate(s), list price.
* ``margin``: the candidate(s) with the highest unit margin p·m (currency, not percent), list price.
* ``never_discount``: list price always (Promote, Pricing; in Marketing with the most popular item).
* ``calendar``: a fixed promotion calendar, ``level`` every ``every``-th visit of a shopper, list price
  otherwise (in Marketing with the most popular item; in Pricing the level is a price level).
* ``constant_price``: Pricing at one fixed price level.
* ``greedy``: maximises expected immediate profit, P̂(purchase)·unit profit, with P̂ a logistic model of the
  observable arm features fitted on logged visits (:func:`fit_purchase_model`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shopgym.agents.base import BasePolicy, TaskInfo
from shopgym.agents.features import ARM_FEATURES, arm_features, unit_profit
from shopgym.envs.batch import ShopperBatch

__all__ = [
    "CalendarPolicy",
    "ConstantPricePolicy",
    "GreedyPolicy",
    "MarginPolicy",
    "NeverDiscountPolicy",
    "PopularPolicy",
    "RandomPolicy",
    "fit_purchase_model",
]


class RandomPolicy(BasePolicy):
    """A uniformly random valid action: the floor every policy should beat."""

    name = "random"

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        space = self.info.action_space
        n = obs.shape[0]
        if hasattr(space, "nvec"):
            return self.rng.integers(0, space.nvec, size=(n, *space.nvec.shape))
        return self.rng.integers(0, space.n, size=n)


class _ScoredItems(BasePolicy):
    """Show the best-scoring candidates at list price."""

    requires = ("chooses_item",)

    def scores(self, obs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        return self.info.task.show_best(self.scores(obs))


class PopularPolicy(_ScoredItems):
    """Show the candidate the platform observes to be most popular, at list price."""

    name = "popular"

    def scores(self, obs: np.ndarray) -> np.ndarray:
        return self.info.layout.item(obs, "popularity")


class MarginPolicy(_ScoredItems):
    """Show the candidate with the highest margin, at list price."""

    name = "margin"

    def scores(self, obs: np.ndarray) -> np.ndarray:
        layout = self.info.layout
        return np.exp(layout.item(obs, "log_price")) * layout.item(obs, "margin")


class CalendarPolicy(BasePolicy):
    """Discount ``level`` on every ``every``-th visit (visits 0, every, 2·every, …), list price otherwise."""

    name = "calendar"
    requires = ("chooses_level",)

    def __init__(self, info: TaskInfo, seed: int | None = None, every: int = 4, level: int = 2) -> None:
        super().__init__(info, seed)
        n_levels = info.task.paid_levels.size
        if not 1 <= every <= 10_000:
            raise ValueError(f"every = {every!r} is outside the allowed range [1, 10000]")
        if not 0 <= level < n_levels:
            raise ValueError(f"level = {level!r} is outside the allowed range [0, {n_levels - 1}]")
        self.params = {"every": every, "level": level}

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        on = self.info.visit_index(obs) % self.params["every"] == 0
        level = np.where(on, self.params["level"], self.info.task.list_price_level)
        item = np.zeros(obs.shape[0], dtype=np.int64)
        if self.info.task.chooses_item:
            item = np.argmax(self.info.layout.item(obs, "popularity"), axis=1)
        return self.info.task.encode(item, level)


class NeverDiscountPolicy(CalendarPolicy):
    """List price at every visit (Marketing: the most popular item)."""

    name = "never_discount"

    def __init__(self, info: TaskInfo, seed: int | None = None) -> None:
        BasePolicy.__init__(self, info, seed)
        self.params = {"every": 1, "level": info.task.list_price_level}


class ConstantPricePolicy(BasePolicy):
    """Pricing at one fixed price level (index into the task's price levels)."""

    name = "constant_price"
    requires = ("sets_price",)

    def __init__(self, info: TaskInfo, seed: int | None = None, level: int = -1) -> None:
        super().__init__(info, seed)
        n_levels = info.price_levels.size
        if not -n_levels <= level < n_levels:
            raise ValueError(f"level = {level!r} is outside the allowed range [{-n_levels}, {n_levels - 1}]")
        self.params = {"level": level % n_levels}

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        return np.full(obs.shape[0], self.params["level"], dtype=np.int64)


def fit_purchase_model(
    features: np.ndarray, purchased: np.ndarray, ridge: float = 1e-3, iterations: int = 25
) -> np.ndarray:
    """Logistic regression weights [D] of ``purchased`` [M] (0/1) on ``features`` [M, D] by Newton's method
    with a small ridge penalty (features are standardised inside; the returned weights apply to raw ones)."""
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    mean[0], scale[0] = 0.0, 1.0  # the bias column stays as it is
    z = (features - mean) / scale
    weights = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ weights)))
        gradient = z.T @ (p - purchased) + ridge * weights
        hessian = (z * (p * (1 - p))[:, None]).T @ z + ridge * np.eye(z.shape[1])
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    raw = weights / scale
    raw[0] -= np.sum(weights[1:] * mean[1:] / scale[1:])
    return raw


class GreedyPolicy(BasePolicy):
    """Myopic on observables: argmax over arms of σ(wᵀφ)·unit profit, with w from :func:`fit_purchase_model`."""

    name = "greedy"
    requires = ("arm_actions", "item_features")

    def __init__(self, info: TaskInfo, seed: int | None = None, weights: np.ndarray | None = None) -> None:
        super().__init__(info, seed)
        self.weights = np.zeros(len(ARM_FEATURES)) if weights is None else np.asarray(weights, dtype=np.float64)

    def fit(self, features: np.ndarray, purchased: np.ndarray) -> GreedyPolicy:
        """Fit on logged arm features [M, D] and purchase outcomes [M]."""
        self.weights = fit_purchase_model(features, purchased)
        return self

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        probability = 1.0 / (1.0 + np.exp(-(arm_features(self.info, obs) @ self.weights)))
        best = np.argmax(probability * unit_profit(self.info, obs), axis=1)
        item, level, _ = self.info.task.arms()
        return self.info.task.encode(item[best], level[best])

    def save(self, path: str | Path) -> None:
        super().save(path)
        np.savez(Path(path) / "weights.npz", weights=self.weights)

    def load(self, path: str | Path) -> None:
        super().load(path)
        with np.load(Path(path) / "weights.npz", allow_pickle=False) as data:
            self.weights = data["weights"]
