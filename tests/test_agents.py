"""Every policy acts on every task it supports; learners learn; oracles respect the optimum; save/load."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from shopgym.agents import POLICIES, TaskInfo, make_policy
from shopgym.agents.bandits import LinUCBBandit, ThompsonBandit
from shopgym.agents.baselines import GreedyPolicy, RandomPolicy, fit_purchase_model
from shopgym.agents.evaluation import evaluate
from shopgym.agents.features import arm_features
from shopgym.agents.oracles import DPPricingPolicy, MyopicOracle
from tests.conftest import ALL_IDS

SUPPORTED = [
    (env_id, name)
    for env_id in ALL_IDS
    for name, cls in sorted(POLICIES.items())
    if cls.supports(TaskInfo.of(gym.make(env_id)).task)
]


def info_of(env_id: str, **kwargs) -> TaskInfo:
    return TaskInfo.of(gym.make(env_id, **kwargs))


@pytest.mark.parametrize(("env_id", "name"), SUPPORTED)
def test_policy_acts_validly_and_reproducibly(env_id, name):
    envs = gym.make_vec(env_id, num_envs=16)
    obs, _ = envs.reset(seed=0)
    info = TaskInfo.of(envs)
    first = make_policy(name, info, seed=3).act(obs, batch=envs.batch)
    second = make_policy(name, info, seed=3).act(obs, batch=envs.batch)
    np.testing.assert_array_equal(first, second)
    assert all(envs.single_action_space.contains(np.asarray(a)) for a in first)
    envs.step(first)


def test_unsupported_task_and_unknown_policy_are_clear_errors():
    with pytest.raises(ValueError, match="does not support the 'pricing' task"):
        make_policy("popular", info_of("shopgym/Pricing-v1"))
    with pytest.raises(ValueError, match="unknown policy 'oracle9'"):
        make_policy("oracle9", info_of("shopgym/Recommend-v1"))
    with pytest.raises(ValueError, match="epsilon"):
        make_policy("epsilon_greedy", info_of("shopgym/Recommend-v1"), epsilon=2.0)


def test_oracle_needs_the_hidden_state():
    envs = gym.make_vec("shopgym/Recommend-v1", num_envs=4)
    obs, _ = envs.reset(seed=0)
    with pytest.raises(ValueError, match="hidden state"):
        MyopicOracle(TaskInfo.of(envs)).act(obs)


@pytest.mark.parametrize("cls", [LinUCBBandit, ThompsonBandit])
def test_bandits_beat_random_on_recommend(cls):
    info = info_of("shopgym/Recommend-v1")
    bandit = cls(info, seed=0)
    evaluate(bandit, "shopgym/Recommend-v1", n_shoppers=256, seed=1, learn=True)
    learned = evaluate(bandit, "shopgym/Recommend-v1", n_shoppers=1024, seed=2)
    random = evaluate(RandomPolicy(info, seed=0), "shopgym/Recommend-v1", n_shoppers=1024, seed=2)
    se = np.sqrt(learned.returns.var() / 1024 + random.returns.var() / 1024)
    assert learned.mean_return - random.mean_return > 4 * se


def test_myopic_oracle_beats_random_and_bandits_stay_below_it():
    info = info_of("shopgym/Marketing-v1")
    oracle = evaluate(MyopicOracle(info), "shopgym/Marketing-v1", n_shoppers=512, seed=0)
    random = evaluate(RandomPolicy(info, seed=0), "shopgym/Marketing-v1", n_shoppers=512, seed=0)
    assert oracle.mean_return > 2 * random.mean_return


def test_logistic_fit_recovers_known_weights():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(50_000), rng.normal(2.0, 3.0, 50_000), rng.normal(-1.0, 0.5, 50_000)])
    truth = np.array([-0.5, 0.4, -1.2])
    y = rng.random(50_000) < 1 / (1 + np.exp(-(x @ truth)))
    np.testing.assert_allclose(fit_purchase_model(x, y.astype(float)), truth, atol=0.08)


def test_greedy_fitted_on_logs_beats_random():
    envs = gym.make_vec("shopgym/Marketing-v1", num_envs=512)
    obs, _ = envs.reset(seed=5)
    info = TaskInfo.of(envs)
    logger = RandomPolicy(info, seed=0)
    features, bought = [], []
    for _ in range(20):
        actions = logger.act(obs)
        chosen = arm_features(info, obs)[np.arange(512), actions]
        obs, _, _, _, step_info = envs.step(actions)
        features.append(chosen)
        bought.append(step_info["purchases"])
    greedy = GreedyPolicy(info).fit(np.concatenate(features), np.concatenate(bought))
    learned = evaluate(greedy, "shopgym/Marketing-v1", n_shoppers=1024, seed=2).mean_return
    random = evaluate(RandomPolicy(info, seed=0), "shopgym/Marketing-v1", n_shoppers=1024, seed=2).mean_return
    assert learned > 1.5 * random


@pytest.mark.parametrize("name", ["random", "calendar", "greedy", "epsilon_greedy", "linucb", "thompson"])
def test_save_load_gives_identical_actions(tmp_path, name):
    envs = gym.make_vec("shopgym/Marketing-v1", num_envs=32)
    obs, _ = envs.reset(seed=0)
    info = TaskInfo.of(envs)
    policy = make_policy(name, info, seed=1)
    if hasattr(policy, "gram"):
        next_obs, reward, *_ = envs.step(policy.act(obs))
        policy.update(obs, policy.act(obs), reward, next_obs, np.zeros(32, bool))
    if isinstance(policy, GreedyPolicy):
        policy.weights = np.linspace(-1, 1, policy.weights.size)
    policy.save(tmp_path)
    clone = make_policy(name, info, seed=1)
    clone.load(tmp_path)
    np.testing.assert_array_equal(policy.act(obs), clone.act(obs))


def test_no_policy_exceeds_the_pricing_optimum():
    envs = gym.make_vec("shopgym/Pricing-v1", num_envs=4)
    envs.reset(seed=0)
    dp = DPPricingPolicy.solve(envs.batch, grid_size=2001)
    info = TaskInfo.of(envs)
    j_star = dp.solution.j_star
    candidates = [dp, MyopicOracle(info), RandomPolicy(info, seed=0)]
    candidates += [make_policy("constant_price", info, level=level) for level in range(info.price_levels.size)]
    for policy in candidates:
        result = evaluate(policy, "shopgym/Pricing-v1", n_shoppers=4000, seed=1)
        assert result.mean_return < j_star + 4 * result.returns.std() / np.sqrt(4000), policy.name
    dp_result = evaluate(dp, "shopgym/Pricing-v1", n_shoppers=4000, seed=1)
    assert abs(dp_result.mean_return - j_star) < 4 * dp_result.returns.std() / np.sqrt(4000)
