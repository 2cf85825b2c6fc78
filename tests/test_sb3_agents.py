"""SB3 agents: hyperparameter validation, candidate networks, tiny training runs, save → load."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from shopgym.agents import TaskInfo
from shopgym.agents.evaluation import evaluate
from shopgym.agents.networks import CandidateEncoder, CandidateHead
from shopgym.agents.sb3_agents import SB3Agent, load_hyperparams
from shopgym.params import ParameterError

TINY = {"n_envs": 16, "n_steps": 4, "batch_size": 64, "n_epochs": 1}


def tiny(algo: str, env_id: str) -> SB3Agent:
    params = load_hyperparams(algo, env_id)
    if algo == "dqn":
        changes = {"n_envs": 16, "learning_starts": 32, "buffer_size": 1000, "batch_size": 32}
    elif algo == "a2c":
        changes = {"n_envs": 16, "n_steps": 4}
    else:
        changes = TINY
    return SB3Agent(algo, env_id, params.model_copy(update=changes), seed=0, device="cpu")


@pytest.mark.parametrize(
    ("algo", "env_id"),
    [
        ("ppo", "shopgym/Marketing-v1"),
        ("ppo", "shopgym/RecommendSlate-v1"),
        ("ppo", "shopgym/Pricing-v1"),
        ("dqn", "shopgym/Recommend-v1"),
        ("dqn", "shopgym/Promote-v1"),
        ("a2c", "shopgym/Marketing-v1"),
        ("recurrentppo", "shopgym/Promote-v1"),
    ],
)
def test_train_save_load_identical_actions(tmp_path, algo, env_id):
    agent = tiny(algo, env_id).learn(256)
    envs = gym.make_vec(env_id, num_envs=8)
    obs, _ = envs.reset(seed=1)
    actions = agent.act(obs)
    assert all(envs.single_action_space.contains(np.asarray(a)) for a in actions)
    agent.save(tmp_path)
    assert not list(tmp_path.glob("*.zip")) and (tmp_path / "policy.pt").exists()
    clone = SB3Agent.load(tmp_path, device="cpu")
    if algo == "recurrentppo":
        agent._lstm_state = None
    np.testing.assert_array_equal(clone.act(obs), agent.act(obs))
    assert clone.model.num_timesteps == agent.model.num_timesteps


def test_candidate_network_is_permutation_equivariant():
    info = TaskInfo.of(gym.make("shopgym/Marketing-v1"))
    layout = info.task.candidate_layout()
    encoder = CandidateEncoder(layout, [32, 32], torch.nn.Tanh)
    head = CandidateHead(layout, 32)
    envs = gym.make_vec("shopgym/Marketing-v1", num_envs=3)
    obs, _ = envs.reset(seed=0)
    logits = head(encoder(torch.from_numpy(obs))).detach().numpy()
    order = np.random.default_rng(0).permutation(info.n_candidates)
    items = info.layout.items(obs)[:, order]
    permuted = np.concatenate([obs[:, : len(info.layout.shopper_names)], items.reshape(3, -1)], axis=1)
    permuted_logits = head(encoder(torch.from_numpy(permuted))).detach().numpy()
    levels = info.discount_levels.size
    np.testing.assert_allclose(
        permuted_logits.reshape(3, -1, levels), logits.reshape(3, -1, levels)[:, order], rtol=1e-5, atol=1e-6
    )


def test_hyperparameter_files_are_validated(tmp_path):
    bad = tmp_path / "ppo.yml"
    bad.write_text("default:\n  n_stepz: 8\n")
    with pytest.raises(ParameterError, match="n_stepz: unknown key"):
        load_hyperparams("ppo", "shopgym/Marketing-v1", bad)
    bad.write_text("default:\n  learning_rate: -1\n")
    with pytest.raises(ParameterError, match=r"learning_rate = -1"):
        load_hyperparams("ppo", "shopgym/Marketing-v1", bad)
    bad.write_text("default:\n  buffer_size: 100\n")
    with pytest.raises(ParameterError, match="do not apply to ppo"):
        load_hyperparams("ppo", "shopgym/Marketing-v1", bad)
    bad.write_text("default: [1, 2\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_hyperparams("ppo", "shopgym/Marketing-v1", bad)
    bad.write_text("default:\n  policy_kwargs: {net_arch: '[64] * 2'}\n")
    with pytest.raises(ParameterError, match="net_arch"):
        load_hyperparams("ppo", "shopgym/Marketing-v1", bad)
    with pytest.raises(ParameterError, match="unknown algorithm 'sac'"):
        load_hyperparams("sac", "shopgym/Marketing-v1")
    with pytest.raises(ParameterError, match="cannot read"):
        load_hyperparams("ppo", "shopgym/Marketing-v1", tmp_path / "missing.yml")


def test_env_specific_entry_overrides_default():
    params, default = load_hyperparams("ppo", "shopgym/Pricing-v1"), load_hyperparams("ppo", "shopgym/Marketing-v1")
    assert params.gamma == 0.95 and params.learning_rate == default.learning_rate == 3e-4


def test_evaluation_does_not_update_normalisation():
    agent = tiny("ppo", "shopgym/Recommend-v1").learn(256)
    mean = agent.venv.obs_rms.mean.copy()
    evaluate(agent, "shopgym/Recommend-v1", n_shoppers=32, seed=0)
    np.testing.assert_array_equal(agent.venv.obs_rms.mean, mean)


def test_sampled_actions_follow_the_policy_and_repeat_with_the_seed():
    params = load_hyperparams("ppo", "shopgym/Pricing-v1").model_copy(update={**TINY, "deterministic": False})
    agents = [SB3Agent("ppo", "shopgym/Pricing-v1", params, seed=3, device="cpu") for _ in range(2)]
    obs = np.tile(np.array([[0.97, 0.2]], dtype=np.float32), (20_000, 1))
    draws = [agent.act(obs) for agent in agents]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(agents[0].act(obs), draws[0])  # the generator moves on
    policy = agents[0].model.policy
    with torch.no_grad():
        probs = policy.get_distribution(policy.obs_to_tensor(agents[0].venv.normalize_obs(obs[:1]))[0])
    expected = probs.distribution.probs.numpy()[0]
    frequencies = np.bincount(draws[0], minlength=expected.size) / obs.shape[0]
    np.testing.assert_allclose(frequencies, expected, atol=0.015)  # 20,000 draws: sd of a share ≤ 0.0035


def test_sampling_applies_only_where_actions_have_a_distribution():
    with pytest.raises(ParameterError, match="deterministic = false applies to ppo and a2c, not dqn"):
        load_hyperparams("dqn", "shopgym/Pricing-v1").model_copy(update={"deterministic": False}).algorithm_kwargs(
            "dqn"
        )


def test_return_normalisation_scales_training_rewards_only():
    params = load_hyperparams("dqn", "shopgym/Pricing-v1").model_copy(
        update={"n_envs": 32, "normalize_rewards": True, "reward_scale": 0.5}
    )
    agent = SB3Agent("dqn", "shopgym/Pricing-v1", params, seed=0, device="cpu")
    venv = agent.venv
    venv.reset()
    for _ in range(20):
        venv.step(np.full(32, 10))
    assert venv.ret_rms.count > 600  # 20 steps of 32 shoppers observed
    raw = venv.get_original_reward()
    expected = np.clip(raw / np.sqrt(venv.ret_rms.var + venv.epsilon), -venv.clip_reward, venv.clip_reward) * 0.5
    np.testing.assert_allclose(venv.normalize_reward(raw), expected)
    assert raw.std() > 0 and not np.allclose(expected, raw * 0.5)
    venv.training = False
    np.testing.assert_array_equal(venv.normalize_reward(raw), raw)
