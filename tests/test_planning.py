"""The dynamics make planning matter: a promotion that wins today loses over the episode.

What the model implies on Promote-v0 in ``default``: a discount on the first visits sells more (the paid
fraction is below the reference price ρ = 1, so the gain term and the deal signal lift clicks and purchases).
Repeated every visit, the discount drags ρ down to the discounted level: the gain and the deal signal vanish
while the margin stays cut, so per-visit profit falls below that of never discounting.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the ids)


def profit_by_visit(level: int, n: int = 6000, horizon: int = 50, seed: int = 0) -> np.ndarray:
    """Mean profit per shopper at each visit (churned shoppers earn 0) for a constant discount level."""
    envs = gym.make_vec("shopgym/Promote-v0", num_envs=n, max_episode_steps=horizon)
    envs.reset(seed=seed)
    active = np.ones(n, dtype=bool)
    profit = np.zeros((horizon, n))
    for t in range(horizon):
        _, _, terminated, truncated, info = envs.step(np.full(n, level))
        profit[t] = info["profit"] * active
        active &= ~(terminated | truncated)
    return profit


def test_always_discounting_wins_early_but_loses_over_the_episode():
    never = profit_by_visit(level=0)  # discount levels: 0, 10, 20, 30, 50 %
    always = profit_by_visit(level=1)  # 10 % off at every visit; same seed: same shoppers and catalog
    early_gain = always[:3].sum(0) - never[:3].sum(0)
    total_gain = always.sum(0) - never.sum(0)
    n = never.shape[1]
    assert early_gain.mean() > 3 * early_gain.std() / np.sqrt(n)
    assert total_gain.mean() < -3 * total_gain.std() / np.sqrt(n)
