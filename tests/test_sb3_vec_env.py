"""The SB3 VecEnv over the batched core keeps SB3's expectations and trains PPO and DQN."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

from shopgym.envs.sb3 import ShopVecEnv, make_sb3_vec_env
from tests.conftest import ALL_IDS


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_shapes_and_dtypes(env_id):
    venv = make_sb3_vec_env(env_id, num_envs=6, seed=0)
    obs = venv.reset()
    assert obs.shape == (6, *venv.observation_space.shape) and obs.dtype == np.float32
    actions = np.array([venv.action_space.sample() for _ in range(6)])
    obs, rewards, dones, infos = venv.step(actions)
    assert rewards.shape == dones.shape == (6,) and rewards.dtype == np.float32
    assert len(infos) == 6 and all(isinstance(i, dict) for i in infos)
    assert set(venv.last_info) >= {"revenue", "profit", "discount_cost", "clicks", "purchases", "churn"}


def test_terminal_observation_and_same_step_autoreset():
    venv = make_sb3_vec_env("shopgym/Promote-v1", num_envs=32, seed=1, max_episode_steps=4, episode_end="fixed")
    venv.reset()
    ended_early = np.zeros(32, dtype=bool)
    for t in range(4):
        obs, _, dones, infos = venv.step(np.zeros(32, dtype=np.int64))
        if t < 3:
            ended_early |= dones
        for row in np.flatnonzero(dones):
            terminal = infos[row]["terminal_observation"]
            assert terminal.shape == obs.shape[1:]
            assert infos[row]["TimeLimit.truncated"] == (t == 3)
            assert terminal[0] == pytest.approx(1.0 if t == 3 else (t + 1) / 4)  # time fraction of the last visit
            assert obs[row][0] == 0.0  # the replacement shopper's first observation
    assert dones[~ended_early].all()  # every first shopper that did not churn reached the horizon


def test_seeding_is_reproducible():
    def run(seed: int) -> np.ndarray:
        venv = make_sb3_vec_env("shopgym/Marketing-v1", num_envs=16)
        venv.seed(seed)
        obs = [venv.reset()]
        rng = np.random.default_rng(0)
        for _ in range(30):
            obs.append(venv.step(rng.integers(0, 100, 16))[0])
        return np.array(obs)

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_seed_then_reset_restarts_the_market():
    venv = ShopVecEnv(num_envs=4, task="recommend", seed=3)
    first = venv.reset()
    venv.step(np.zeros(4, dtype=np.int64))
    assert venv.market_clock == 4  # as the Gymnasium adapters report it in info["market_clock"]
    venv.seed(3)
    np.testing.assert_array_equal(venv.reset(), first)
    assert venv.market_clock == 0


def test_wrappers_and_attribute_access():
    venv = VecNormalize(VecMonitor(make_sb3_vec_env("shopgym/Recommend-v1", num_envs=8, seed=0)))
    venv.reset()
    for _ in range(60):
        venv.step(np.zeros(8, dtype=np.int64))
    assert venv.get_attr("num_envs")[0] == 8
    assert venv.env_is_wrapped(VecMonitor) == [False] * 8


def test_unknown_env_id_is_an_error():
    with pytest.raises(Exception, match="CartPole|shopgym"):
        make_sb3_vec_env("CartPole-v1", num_envs=2)


@pytest.mark.parametrize("algo", [PPO, DQN])
def test_ppo_and_dqn_train_on_the_batched_vec_env(algo):
    venv = make_sb3_vec_env("shopgym/Marketing-v1", num_envs=32, seed=0)
    kwargs = {"n_steps": 8, "batch_size": 64, "n_epochs": 1} if algo is PPO else {"learning_starts": 64}
    model = algo("MlpPolicy", venv, seed=0, device="cpu", **kwargs)
    model.learn(total_timesteps=512)
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert actions.shape == (32,)


def test_a_mix_of_markets_steps_each_part_as_it_would_alone():
    from shopgym.envs.sb3 import make_mixed_sb3_vec_env

    mixed = make_mixed_sb3_vec_env("shopgym/Marketing-v1", ["default", "recession"], num_envs=7, seed=3)
    alone = [
        make_sb3_vec_env("shopgym/Marketing-v1", num_envs=4, seed=3, scenario="default"),
        make_sb3_vec_env("shopgym/Marketing-v1", num_envs=3, seed=4, scenario="recession"),
    ]
    assert mixed.num_envs == 7
    obs = mixed.reset()
    np.testing.assert_array_equal(obs, np.concatenate([part.reset() for part in alone]))
    rng = np.random.default_rng(0)
    for _ in range(60):  # past the 50-visit horizon, so every slot finishes an episode
        actions = rng.integers(0, mixed.action_space.n, mixed.num_envs)
        obs, reward, done, infos = mixed.step(actions)
        parts = [alone[0].step(actions[:4]), alone[1].step(actions[4:])]
        np.testing.assert_array_equal(done, np.concatenate([p[2] for p in parts]))
        np.testing.assert_array_equal(obs, np.concatenate([p[0] for p in parts]))
        np.testing.assert_array_equal(reward, np.concatenate([p[1] for p in parts]))
        assert [("episode" in i) for i in infos] == [("episode" in i) for p in parts for i in p[3]]
    assert len(mixed.get_attr("render_mode", indices=[0, 6])) == 2
