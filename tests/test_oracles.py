"""Oracle expectations agree with sampled visits of the simulator."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401
from shopgym.oracles import expected_visit_reward, greedy_slate


def test_expected_visit_reward_matches_sampled_visits():
    n = 100_000
    envs = gym.make_vec("shopgym/Marketing-v1", num_envs=n)
    envs.reset(seed=0)
    batch = envs.batch
    level, levels = 2, batch.task.discount_levels
    items = batch.state.candidates[:, :1]
    expected = expected_visit_reward(batch, items, np.array([1.0 - levels[level]]))[:, 0]
    _, reward, _, _, _ = envs.step(np.full(n, 0 * levels.size + level))  # candidate 0 at the level
    assert abs(reward.mean() - expected.mean()) < 4 * reward.std() / np.sqrt(n)


def test_greedy_slate_is_valid_and_beats_a_random_slate():
    n = 20_000
    values = {}
    for name in ("greedy", "random"):
        envs = gym.make_vec("shopgym/RecommendSlate-v1", num_envs=n, max_episode_steps=1)
        envs.reset(seed=1)
        if name == "greedy":
            slate = greedy_slate(envs.batch, 5)
            assert all(len(set(row)) == 5 for row in slate[:100])
        else:
            slate = np.stack([np.random.default_rng(i).permutation(20)[:5] for i in range(n)])
        values[name] = envs.step(slate)[1].mean()
    assert values["greedy"] > 1.5 * values["random"]


def test_every_arm_is_scored_as_if_shown_alone_without_a_position_penalty():
    """The myopic oracle's arms are alternatives, not slate positions: arm j's expected reward equals that of showing
    it alone (a deeper discount must not lose θ·ln(1 + j) of click utility for coming later in the arm list)."""
    from shopgym.envs.batch import ShopperBatch
    from shopgym.oracles import expected_visit_reward

    batch = ShopperBatch("promote", 64)
    batch.seed(0)
    batch.reset()
    item, _, paid = batch.task.arms()
    items = batch.state.candidates[:, item]
    together = expected_visit_reward(batch, items, paid)
    for arm in range(paid.size):
        alone = expected_visit_reward(batch, items[:, arm : arm + 1], paid[arm : arm + 1])
        np.testing.assert_allclose(together[:, arm], alone[:, 0], rtol=1e-12)
