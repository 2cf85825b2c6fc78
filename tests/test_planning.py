"""The dynamics make planning matter: the lift of a promotion erodes when it is repeated.

What the model implies on Promote-v1 in ``default``: a discount on the first visits sells more (the paid
fraction is below the category's reference price, so the deal response, the gain term and stockpiling lift
clicks, purchases and units). Repeated at every visit, the discount drags the reference prices of the categories
shown toward the discounted level and wears the deal response out, so the per-visit gain over never discounting
shrinks. (It does not vanish within an episode here: a category's reference moves only when that category is
shown, about one visit in eight.)
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the ids)


def profit_by_visit(level: int, n: int = 6000, horizon: int = 50, seed: int = 0) -> np.ndarray:
    """Mean profit per shopper at each visit (churned shoppers earn 0) for a constant discount level."""
    envs = gym.make_vec("shopgym/Promote-v1", num_envs=n, max_episode_steps=horizon, episode_end="fixed")
    envs.reset(seed=seed)
    active = np.ones(n, dtype=bool)
    profit = np.zeros((horizon, n))
    for t in range(horizon):
        _, _, terminated, truncated, info = envs.step(np.full(n, level))
        profit[t] = info["profit"] * active
        active &= ~(terminated | truncated)
    return profit


def test_the_lift_of_a_repeated_discount_erodes_over_the_episode():
    never = profit_by_visit(level=0)  # discount levels: 0, 10, 20, 30, 50 %
    always = profit_by_visit(level=1)  # 10 % off at every visit; same seed: same shoppers and catalog
    n = never.shape[1]
    early = (always[:3] - never[:3]).mean(0)  # per-visit gain, visits 1-3
    late = (always[30:] - never[30:]).mean(0)  # per-visit gain, visits 31-50
    assert early.mean() > 3 * early.std() / np.sqrt(n)
    drop = early - late
    assert drop.mean() > 3 * drop.std() / np.sqrt(n)
    assert late.mean() < 0.75 * early.mean()
