"""Contracts every registered env keeps: checkers, determinism, pickling, vector parity, clear errors."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from shopgym import ShopEnv, ShopVectorEnv
from shopgym.scenarios import list_scenarios
from tests.conftest import ALL_IDS


def rollout(env: gym.Env, seed: int, steps: int, action_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Observations and rewards of ``steps`` steps with seeded random actions (resetting when done)."""
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        observations.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            obs, _ = env.reset()
            observations.append(obs)
    return np.array(observations), np.array(rewards)


@pytest.mark.parametrize("scenario", list_scenarios())
@pytest.mark.parametrize("env_id", ALL_IDS)
def test_gymnasium_and_sb3_checkers_pass(env_id, scenario):
    env = gym.make(env_id, scenario=scenario, disable_env_checker=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning is a failure
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_registered_spec(env_id):
    spec = gym.spec(env_id)
    assert spec.max_episode_steps is not None and spec.vector_entry_point is not None
    env = gym.make(env_id)
    assert env.spec.max_episode_steps == spec.max_episode_steps
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_same_seed_same_rollout_different_seed_differs(env_id):
    obs_a, rew_a = rollout(gym.make(env_id), seed=3, steps=120)
    obs_b, rew_b = rollout(gym.make(env_id), seed=3, steps=120)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    obs_c, rew_c = rollout(gym.make(env_id), seed=4, steps=120)
    assert obs_a.shape != obs_c.shape or not np.array_equal(obs_a, obs_c) or not np.array_equal(rew_a, rew_c)


def test_reseeding_the_same_env_reproduces_the_rollout():
    env = gym.make("shopgym/Marketing-v1")
    first = rollout(env, seed=11, steps=80)
    second = rollout(env, seed=11, steps=80)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_pickle_round_trip_mid_episode_continues_identically(env_id):
    env = gym.make(env_id)
    env.reset(seed=5)
    env.action_space.seed(0)
    for _ in range(7):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    clone = pickle.loads(pickle.dumps(env))
    actions = [env.action_space.sample() for _ in range(20)]
    for action in actions:
        a = env.step(action)
        b = clone.step(action)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4]
        if a[2] or a[3]:
            np.testing.assert_array_equal(env.reset()[0], clone.reset()[0])


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_make_vec_uses_the_batched_core(env_id):
    envs = gym.make_vec(env_id, num_envs=8)
    assert isinstance(envs, ShopVectorEnv)
    assert envs.batch.num_shoppers == 8
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (8, *envs.single_observation_space.shape)
    obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())
    assert reward.shape == terminated.shape == truncated.shape == (8,)
    assert info["profit"].shape == (8,) and info["_profit"].all()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_vector_env_of_one_equals_the_single_env(env_id):
    """Exact parity: the single env is a batch of one, so a vector env of one with the same seed and actions
    gives bit-identical observations and rewards (episodes that end are reset next step in the vector env)."""
    single = gym.make(env_id)
    vector = gym.make_vec(env_id, num_envs=1)
    obs_s, _ = single.reset(seed=9)
    obs_v, _ = vector.reset(seed=9)
    single.action_space.seed(1)
    for _ in range(150):
        np.testing.assert_array_equal(obs_v[0], obs_s)
        action = single.action_space.sample()
        obs_s, r_s, term_s, trunc_s, _ = single.step(action)
        obs_v, r_v, term_v, trunc_v, _ = vector.step(np.asarray(action)[None])
        assert r_v[0] == r_s and term_v[0] == term_s and trunc_v[0] == trunc_s
        if term_s or trunc_s:
            np.testing.assert_array_equal(obs_v[0], obs_s)  # the final observation
            obs_s, _ = single.reset()
            obs_v, r_v, term_v, trunc_v, _ = vector.step(np.asarray(action)[None])  # next-step autoreset
            assert r_v[0] == 0.0 and not term_v[0] and not trunc_v[0]


def test_vector_env_matches_single_envs_in_distribution():
    """Statistical parity: mean episode profit of N batched shoppers equals that of N single-env episodes."""
    n, horizon = 600, 20

    def policy(obs: np.ndarray) -> np.ndarray:
        return np.zeros(obs.shape[0], dtype=np.int64)

    vector = gym.make_vec("shopgym/Recommend-v1", num_envs=n, max_episode_steps=horizon)
    obs, _ = vector.reset(seed=1)
    active, batched = np.ones(n, bool), np.zeros(n)
    while active.any():
        obs, reward, terminated, truncated, _ = vector.step(policy(obs))
        batched += reward * active
        active &= ~(terminated | truncated)

    single = gym.make("shopgym/Recommend-v1", max_episode_steps=horizon)
    single.reset(seed=2)
    singles = []
    for _ in range(n):
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = single.step(0)
            total += reward
            done = terminated or truncated
        singles.append(total)
        single.reset()
    se = np.sqrt(batched.var() / n + np.var(singles) / n)
    assert abs(batched.mean() - np.mean(singles)) < 4 * se


def test_vector_env_autoresets_next_step_and_truncates_at_horizon():
    envs = gym.make_vec("shopgym/Promote-v1", num_envs=16, max_episode_steps=5)
    envs.reset(seed=0)
    finished_at = np.full(16, -1)
    for t in range(5):
        _, _, terminated, truncated, _ = envs.step(np.zeros(16, dtype=np.int64))
        finished_at[(terminated | truncated) & (finished_at < 0)] = t
    assert np.all(finished_at >= 0)
    assert np.all(envs.batch.state.visits[finished_at == 4] == 5)
    _, reward, terminated, truncated, _ = envs.step(np.zeros(16, dtype=np.int64))
    restarted = finished_at == 4
    assert np.all(reward[restarted] == 0) and not terminated[restarted].any() and not truncated[restarted].any()
    assert np.all(envs.batch.state.visits[restarted] == 0)


def test_render_ansi_describes_the_visit():
    env = gym.make("shopgym/Marketing-v1", render_mode="ansi")
    env.reset(seed=0)
    env.step(7)
    text = env.render()
    for word in ("shopper", "segment", "reference price", "engagement", "last action", "outcome", "candidates"):
        assert word in text
    vector = gym.make_vec("shopgym/Pricing-v1", num_envs=2, render_mode="ansi")
    vector.reset(seed=0)
    vector.step(np.array([3, 3]))
    assert "% of list" in vector.render()


def test_full_observability_adds_the_hidden_state():
    partial = gym.make("shopgym/Recommend-v1")
    full = gym.make("shopgym/Recommend-v1", observability="full")
    assert full.observation_space.shape[0] > partial.observation_space.shape[0]
    obs, _ = full.reset(seed=0)
    batch = full.unwrapped.batch
    state, layout = batch.state, batch.task.layout
    assert layout.shopper(obs[None], "reference_price")[0] == np.float32(state.reference_price[0].mean())
    assert layout.shopper(obs[None], "deal_wear")[0] == np.float32(state.deal_wear[0])
    assert layout.shopper(obs[None], "engagement")[0] == np.float32(state.engagement[0])
    category = batch.simulator.catalog.category[state.candidates[0]]
    np.testing.assert_array_equal(
        layout.item(obs[None], "category_reference_price")[0], state.reference_price[0, category].astype(np.float32)
    )
    np.testing.assert_array_equal(
        layout.item(obs[None], "category_inventory")[0], state.inventory[0, category].astype(np.float32)
    )


def test_observations_are_catalog_agnostic():
    small = gym.make("shopgym/Marketing-v1", scenario="new_market")  # 300 items, 6 categories
    large = gym.make("shopgym/Marketing-v1", scenario="grocery")  # 5000 items, 20 categories
    assert small.observation_space == large.observation_space
    assert small.action_space == large.action_space


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("env_id", "action", "match"),
    [
        ("shopgym/Recommend-v1", 20, "outside Discrete"),
        ("shopgym/Recommend-v1", -1, "outside Discrete"),
        ("shopgym/Recommend-v1", 2.5, "must be integers"),
        ("shopgym/Recommend-v1", np.nan, "must be integers"),
        ("shopgym/Recommend-v1", [1, 2], "shape"),
        ("shopgym/RecommendSlate-v1", [1, 2, 3], "shape"),
        ("shopgym/RecommendSlate-v1", [1, 2, 3, 4, 99], "outside MultiDiscrete"),
        ("shopgym/Marketing-v1", 100, "outside Discrete"),
        ("shopgym/Pricing-v1", "cheap", "must be integers"),
    ],
)
def test_bad_actions_raise_clear_errors(env_id, action, match):
    env = gym.make(env_id)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_bad_vector_actions_raise_clear_errors():
    envs = gym.make_vec("shopgym/Marketing-v1", num_envs=4)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(4,\)"):
        envs.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="outside"):
        envs.step(np.array([0, 1, 2, 100]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"observability": "some"}, "observability"),
        ({"n_candidates": 0}, "n_candidates"),
        ({"discount_levels": [0.0, 1.2]}, "discount_levels"),
        ({"discount_levels": [0.1, 0.1]}, "repeated"),
        ({"action_encoding": "onehot"}, "action_encoding"),
        ({"scenario": {"catalog": {"n_items": -5}}}, r"catalog\.n_items"),
        ({"scenario": 42}, "scenario must be"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*render_mode.*:UserWarning")
def test_bad_constructor_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make("shopgym/Marketing-v1", **kwargs)


def test_bad_vector_sizes():
    with pytest.raises(ValueError, match="num_envs"):
        ShopVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="max_episode_steps"):
        ShopVectorEnv(num_envs=2, max_episode_steps=-3)
    with pytest.raises(ValueError, match="slate_size"):
        ShopEnv(task="slate", slate_size=50)
    with pytest.raises(ValueError, match="unknown task"):
        ShopEnv(task="haggle")


def test_step_before_reset_is_an_error():
    with pytest.raises(RuntimeError, match="reset"):
        ShopEnv().step(0)
