"""Contextual bandits that learn online from rewards, vectorised over the batch of shoppers.

All three share one ridge-regression model of the immediate reward, r ≈ θᵀφ(arm), over the observable arm
features of :mod:`shopgym.agents.features` (A = λI + Σφφᵀ, b = Σrφ, θ = A⁻¹b), updated after every step with the
batch's chosen arms. They differ in how they explore:

* ``epsilon_greedy``: the best arm by θᵀφ, a uniformly random arm with probability ε;
* ``linucb``: θᵀφ + α·√(φᵀA⁻¹φ) (Li et al. 2010);
* ``thompson``: θ̃ᵀφ with θ̃ ~ N(θ, v²A⁻¹) drawn per shopper (Agrawal & Goyal 2013).

Bandits optimise the immediate reward: they are the strongest of the myopic learners, not planners.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shopgym.agents.base import BasePolicy, TaskInfo
from shopgym.agents.features import ARM_FEATURES, arm_features
from shopgym.envs.batch import ShopperBatch

__all__ = ["EpsilonGreedyBandit", "LinUCBBandit", "ThompsonBandit"]


class _LinearBandit(BasePolicy):
    requires = ("arm_actions", "item_features")
    learns_online = True

    def __init__(self, info: TaskInfo, seed: int | None = None, ridge: float = 1.0, **params: float) -> None:
        super().__init__(info, seed)
        if not ridge > 0:
            raise ValueError(f"ridge = {ridge!r} must be > 0")
        for key, value in params.items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{key} = {value!r} must be a finite number ≥ 0")
        self.params = {"ridge": ridge, **params}
        dim = len(ARM_FEATURES)
        self.gram = ridge * np.eye(dim)  # A
        self.moment = np.zeros(dim)  # b
        self._refresh()

    def _refresh(self) -> None:
        self.gram_inverse = np.linalg.inv(self.gram)
        self.theta = self.gram_inverse @ self.moment

    def scores(self, features: np.ndarray) -> np.ndarray:
        """[N, A] arm scores for features [N, A, D]."""
        raise NotImplementedError

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        best = np.argmax(self.scores(arm_features(self.info, obs)), axis=1)
        item, level, _ = self.info.task.arms()
        return self.info.task.encode(item[best], level[best])

    def update(
        self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray, dones: np.ndarray
    ) -> None:
        if obs.shape[0] == 0:
            return
        chosen = arm_features(self.info, obs)[np.arange(obs.shape[0]), self.info.task.arm_index(actions)]
        self.gram += chosen.T @ chosen
        self.moment += chosen.T @ np.asarray(rewards, dtype=np.float64)
        self._refresh()

    def save(self, path: str | Path) -> None:
        super().save(path)
        np.savez(Path(path) / "model.npz", gram=self.gram, moment=self.moment)

    def load(self, path: str | Path) -> None:
        super().load(path)
        with np.load(Path(path) / "model.npz", allow_pickle=False) as data:
            self.gram, self.moment = data["gram"], data["moment"]
        self._refresh()


class EpsilonGreedyBandit(_LinearBandit):
    """Ridge-regression arm values; a random arm with probability ``epsilon``, else the best estimate."""

    name = "epsilon_greedy"

    def __init__(self, info: TaskInfo, seed: int | None = None, ridge: float = 1.0, epsilon: float = 0.1) -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon = {epsilon!r} is outside the allowed range [0, 1]")
        super().__init__(info, seed, ridge, epsilon=epsilon)

    def scores(self, features: np.ndarray) -> np.ndarray:
        greedy = features @ self.theta
        explore = self.rng.random(greedy.shape[0]) < self.params["epsilon"]
        greedy[explore] = self.rng.random((int(explore.sum()), greedy.shape[1]))
        return greedy


class LinUCBBandit(_LinearBandit):
    """LinUCB (Li et al. 2010): the arm with the highest estimate plus ``alpha`` × √(φᵀA⁻¹φ), its uncertainty."""

    name = "linucb"

    def __init__(self, info: TaskInfo, seed: int | None = None, ridge: float = 1.0, alpha: float = 1.0) -> None:
        super().__init__(info, seed, ridge, alpha=alpha)

    def scores(self, features: np.ndarray) -> np.ndarray:
        spread = np.linalg.cholesky(self.gram_inverse)  # A⁻¹ = L Lᵀ, so φᵀA⁻¹φ = ‖Lᵀφ‖²
        width = np.sqrt(np.square(features @ spread).sum(axis=2))
        return features @ self.theta + self.params["alpha"] * width


class ThompsonBandit(_LinearBandit):
    """Linear Thompson sampling: the best arm under weights drawn from the posterior (covariance × ``scale``²)."""

    name = "thompson"

    def __init__(self, info: TaskInfo, seed: int | None = None, ridge: float = 1.0, scale: float = 1.0) -> None:
        super().__init__(info, seed, ridge, scale=scale)

    def scores(self, features: np.ndarray) -> np.ndarray:
        n, dim = features.shape[0], self.theta.size
        spread = np.linalg.cholesky(self.gram_inverse)
        sampled = self.theta + self.params["scale"] * self.rng.standard_normal((n, dim)) @ spread.T
        return np.einsum("nad,nd->na", features, sampled)
