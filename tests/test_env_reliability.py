"""Reliability of the env layer: one horizon for every adapter, the SB3 habits, clear errors at construction,
observations inside their space for extreme scenarios, and catalog churn whose work follows what changes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.env_util import make_vec_env

import shopgym.catalog
from shopgym import ParameterError, ShopEnv
from shopgym.choice import NestedLogit
from shopgym.envs.batch import DEFAULT_HORIZON, GEOMETRIC_CAP, RenderModeError
from shopgym.envs.sb3 import ShopVecEnv, make_sb3_vec_env
from shopgym.scenarios import get_scenario
from tests.conftest import small_scenario

NO_CHURN = {"churn_min": 0.0, "churn_max": 0.0}


# ---------------------------------------------------------------------- one horizon (defect A)
@pytest.mark.parametrize("horizon", [1, 2, 50, 100])
@pytest.mark.parametrize("env_id", ["shopgym/Promote-v1", "shopgym/Pricing-v1"])
def test_max_episode_steps_sets_the_same_horizon_in_gym_make_make_vec_and_sb3(env_id, horizon):
    """Same seed and actions: the single env (``gymnasium.make``), the vector env of one and the SB3 VecEnv of one
    give identical observations, rewards and flags, and every episode ends after exactly N visits."""
    options = {"scenario": small_scenario(dynamics=NO_CHURN), "episode_end": "fixed"}  # no random ends here
    single = gym.make(env_id, max_episode_steps=horizon, **options)
    vector = gym.make_vec(env_id, num_envs=1, max_episode_steps=horizon, **options)
    sb3 = make_sb3_vec_env(env_id, num_envs=1, seed=4, max_episode_steps=horizon, **options)
    obs_s, _ = single.reset(seed=4)
    obs_v, _ = vector.reset(seed=4)
    obs_b = sb3.reset()
    time = single.unwrapped.batch.task.layout.shopper_names.index("time_fraction")
    rng = np.random.default_rng(0)
    for _ in range(2):  # two episodes: the horizon also holds after a reset
        for visit in range(1, horizon + 1):
            np.testing.assert_array_equal(obs_v[0], obs_s)
            np.testing.assert_array_equal(obs_b[0], obs_s)
            action = int(rng.integers(single.action_space.n))
            obs_s, r_s, term_s, trunc_s, _ = single.step(action)
            obs_v, r_v, term_v, trunc_v, _ = vector.step(np.array([action]))
            obs_b, r_b, done_b, infos = sb3.step(np.array([action]))
            assert r_v[0] == r_s and np.float32(r_s) == r_b[0]
            assert (term_s, trunc_s) == (False, visit == horizon) == (term_v[0], trunc_v[0])
            assert done_b[0] == (visit == horizon)
            np.testing.assert_array_equal(obs_v[0], obs_s)
        assert obs_s[time] == 1.0  # t/H of the last visit
        np.testing.assert_array_equal(infos[0]["terminal_observation"], obs_s)
        obs_s, _ = single.reset()
        obs_v, *_ = vector.step(np.array([0]))  # next-step autoreset


def test_make_vec_in_sync_mode_gives_its_single_envs_the_horizon():
    """``vectorization_mode="sync"`` steps copies of the single env made by ``gymnasium.make``."""
    envs = gym.make_vec(
        "shopgym/Promote-v1",
        num_envs=2,
        vectorization_mode="sync",
        max_episode_steps=3,
        scenario=small_scenario(dynamics=NO_CHURN),
        episode_end="fixed",
    )
    envs.reset(seed=0)
    for _ in range(3):
        obs, _, _, truncated, _ = envs.step(np.zeros(2, dtype=np.int64))
    assert truncated.all() and np.all(obs[:, 0] == 1.0)  # t/H = 3/3


@pytest.mark.parametrize("env_id", ["shopgym/Promote-v1", "shopgym/Marketing-v1", "shopgym/Pricing-v1"])
def test_planning_tasks_end_at_random_with_the_mean_length_and_a_far_cap(env_id):
    """The planning tasks end an episode after every visit with probability 1/H (H = ``mean_visits``): lengths
    are geometric with mean H, the registered cap is 20·H, and ``time_fraction`` counts visits in units of H."""
    spec = gym.spec(env_id)
    assert spec.max_episode_steps == GEOMETRIC_CAP * DEFAULT_HORIZON
    venv = make_sb3_vec_env(env_id, num_envs=512, seed=0, scenario=small_scenario(dynamics=NO_CHURN), mean_visits=8)
    assert venv.batch.end_probability == 1 / 8
    venv.reset()
    ends = []
    for _ in range(100):
        _, _, done, infos = venv.step(np.zeros(512, dtype=np.int64))
        ends.append(done)
        assert not any(info["TimeLimit.truncated"] for info, d in zip(infos, done, strict=True) if d)
    # memoryless: every visit of every shopper ends its episode with probability 1/8, whatever came before
    ends = np.array(ends)
    assert abs(ends.mean() - 1 / 8) < 4 * np.sqrt(1 / 8 * 7 / 8 / ends.size)
    assert abs(ends[50:].mean() - ends[:50].mean()) < 0.01
    obs_venv = make_sb3_vec_env(env_id, num_envs=1, seed=0, mean_visits=4, episode_end="geometric")
    assert obs_venv.batch.time_scale == 4


def test_episode_end_is_checked():
    with pytest.raises(ParameterError, match="episode_end = 'sometimes'; allowed: 'fixed', 'geometric'"):
        gym.make("shopgym/Promote-v1", episode_end="sometimes")
    with pytest.raises(ParameterError, match="mean_visits"):
        gym.make("shopgym/Promote-v1", mean_visits=0)


def test_a_time_limit_wrapped_by_hand_sets_the_horizon_and_a_second_horizon_is_refused():
    env = TimeLimit(ShopEnv(task="promote"), max_episode_steps=3)
    env.reset(seed=0)
    assert env.unwrapped.batch.horizon == 3
    conflicting = TimeLimit(ShopEnv(task="promote", max_episode_steps=5), max_episode_steps=3)
    with pytest.raises(ParameterError, match="max_episode_steps = 5 .* after 3 steps"):
        conflicting.reset(seed=0)


def test_without_a_time_limit_the_env_ends_episodes_at_its_own_horizon():
    env = gym.make("shopgym/Promote-v1", scenario=small_scenario(dynamics=NO_CHURN), max_episode_steps=-1)
    env.reset(seed=0)
    steps = 0
    while not any(env.step(0)[2:4]):
        steps += 1
    assert steps + 1 == 50


# ---------------------------------------------------------------------- stable-baselines3 habits (defect B)
@pytest.mark.filterwarnings("ignore:.*render_mode.*:UserWarning")
def test_sb3_make_vec_env_with_a_string_id_works():
    venv = make_vec_env("shopgym/Marketing-v1", n_envs=4, seed=0)
    obs = venv.reset()
    assert obs.shape == (4, *venv.observation_space.shape)
    venv.step(np.zeros(4, dtype=np.int64))


@pytest.mark.filterwarnings("ignore:.*render_mode.*:UserWarning")
def test_sb3_ppo_and_dqn_train_from_a_string_id():
    PPO("MlpPolicy", "shopgym/Promote-v1", n_steps=64, batch_size=64, seed=0, device="cpu").learn(128)
    DQN("MlpPolicy", "shopgym/Promote-v1", learning_starts=0, seed=0, device="cpu").learn(128)


@pytest.mark.filterwarnings("ignore:.*render_mode.*:UserWarning")
def test_an_unsupported_render_mode_is_refused_as_parameter_and_type_error():
    with pytest.raises(RenderModeError, match="render_mode = 'rgb_array'") as caught:
        gym.make("shopgym/Promote-v1", render_mode="rgb_array")
    assert isinstance(caught.value, ParameterError) and isinstance(caught.value, TypeError)
    with pytest.raises(RenderModeError, match="render_mode"):
        gym.make_vec("shopgym/Promote-v1", num_envs=2, render_mode="human")


# ---------------------------------------------------------------------- errors at construction (defect C)
class NotAChoiceModel:
    pass


@pytest.mark.parametrize(
    ("env_id", "kwargs", "match"),
    [
        ("shopgym/Marketing-v1", {"choice_model": 0}, "choice_model = 0 must be an object with probabilities"),
        ("shopgym/Marketing-v1", {"choice_model": ""}, "choice_model = '' must be"),
        ("shopgym/Marketing-v1", {"choice_model": NotAChoiceModel()}, "choice_model = .* must be"),
        ("shopgym/Marketing-v1", {"choice_model": NestedLogit}, "choice_model = .* must be"),
        ("shopgym/Marketing-v1", {"reward_fn": 5}, "reward_fn = 5 must be a function"),
        ("shopgym/Marketing-v1", {"reward_fn": False}, "reward_fn = False must be a function"),
        ("shopgym/Marketing-v1", {"n_candidates": ""}, r"n_candidates = '' is not an integer .* \[1, 1000\]"),
        ("shopgym/Marketing-v1", {"n_candidates": 2.0}, "n_candidates = 2.0 is not an integer"),
        ("shopgym/Pricing-v1", {"discount_levels": [1.0]}, "discount_levels .* does not apply to task 'pricing'"),
        ("shopgym/Promote-v1", {"n_candidates": 20}, "n_candidates = 20 does not apply to task 'promote'"),
        ("shopgym/Recommend-v1", {"action_encoding": "discrete"}, "action_encoding .* task 'recommend'"),
        ("shopgym/Marketing-v1", {"n_candidate": 5}, "option n_candidate = 5 does not apply"),
        ("shopgym/Marketing-v1", {"n_candidates": True}, "n_candidates = True is not an integer"),
        ("shopgym/RecommendSlate-v1", {"slate_size": True}, "slate_size = True is not an integer"),
        ("shopgym/Marketing-v1", {"horizon": True}, "horizon = True is not an env option"),
        ("shopgym/Marketing-v1", {"discount_levels": "abc"}, "discount_levels must be a non-empty list"),
        ("shopgym/Marketing-v1", {"discount_levels": [True, False]}, "discount_levels must be a non-empty list"),
        ("shopgym/Marketing-v1", {"discount_levels": [[0.1], 0.2]}, "discount_levels must be a non-empty list"),
        ("shopgym/Marketing-v1", {"observability": np.array(["full"])}, "observability"),
    ],
)
def test_bad_env_arguments_are_refused_at_construction_in_one_line(env_id, kwargs, match):
    with pytest.raises(ParameterError, match=match) as caught:
        gym.make(env_id, **kwargs)
    assert "\n" not in str(caught.value)


def test_none_means_the_default_component_and_a_given_one_is_used():
    env = gym.make("shopgym/Marketing-v1", choice_model=None, reward_fn=None)
    env.reset(seed=0)
    env.step(0)
    calls = []
    env = gym.make("shopgym/Marketing-v1", reward_fn=lambda c: calls.append(1) or c["clicks"])
    env.reset(seed=0)
    env.step(0)
    assert calls == [1]


def test_an_unknown_drift_target_is_refused_at_construction_not_at_reset():
    scenario = small_scenario(drift=[{"kind": "switch", "at": 10, "to": "nope"}])
    with pytest.raises(ParameterError, match=r"drift\.0\.to = 'nope': unknown scenario 'nope'"):
        gym.make_vec("shopgym/Marketing-v1", num_envs=2, scenario=scenario)


@pytest.mark.parametrize("num_envs", [True, 0, 2.0, "4", 2**40])
def test_bad_num_envs_is_refused_before_anything_is_allocated(num_envs):
    with pytest.raises(ParameterError, match="num_envs") as caught:
        gym.make_vec("shopgym/Marketing-v1", num_envs=num_envs)
    assert "\n" not in str(caught.value)
    with pytest.raises(ParameterError, match="num_envs"):
        ShopVecEnv(num_envs=num_envs)


def test_too_many_shoppers_names_the_maximum():
    with pytest.raises(ParameterError, match=r"num_envs = 1,099,511,627,776 is outside the allowed range \[1, [\d,]+"):
        make_sb3_vec_env("shopgym/Marketing-v1", num_envs=2**40)


@pytest.mark.parametrize("value", [True, 0, -3, 2.5, "10"])
def test_bad_max_episode_steps_is_refused(value):
    with pytest.raises(ParameterError, match="max_episode_steps"):
        gym.make_vec("shopgym/Promote-v1", num_envs=2, max_episode_steps=value)
    with pytest.raises(ParameterError, match="max_episode_steps"):
        ShopEnv(task="promote", max_episode_steps=value)


def test_a_boolean_time_limit_of_gym_make_is_refused_at_reset():
    env = gym.make("shopgym/Promote-v1", max_episode_steps=True)  # Gymnasium accepts it, an int subclass
    with pytest.raises(ParameterError, match="max_episode_steps = True"):
        env.reset(seed=0)


# ---------------------------------------------------------------------- observations in their space (defect D)
EXTREME = get_scenario("default").replace(
    catalog={"n_items": 300, "n_categories": 3},
    segments=[{"name": "extreme", "price_sensitivity": 20.0, "price_sensitivity_sd": 3.0, "promo_affinity": 10.0}],
    dynamics={"fatigue_decay": 1.0, "fatigue_per_exposure": 1e6},
)


@pytest.mark.parametrize("env_id", ["shopgym/RecommendSlate-v1", "shopgym/Marketing-v1"])
def test_observations_of_an_extreme_scenario_stay_in_the_observation_space(env_id):
    envs = gym.make_vec(env_id, num_envs=64, scenario=EXTREME, observability="full")
    space = envs.single_observation_space
    obs, _ = envs.reset(seed=0)
    envs.action_space.seed(0)
    for _ in range(30):
        assert all(space.contains(row) for row in obs)
        obs, *_ = envs.step(envs.action_space.sample())
    assert envs.batch.state.fatigue.max() > space.high.max()  # the state is not clipped, its observation is


def test_affinities_rounded_above_one_stay_in_the_observation_space():
    """A float32 dot product of an embedding with itself can round to 1.0000001 (above the Box)."""
    envs = gym.make_vec("shopgym/Recommend-v1", num_envs=1000, observability="full")
    envs.reset(seed=0)
    batch = envs.batch
    state = batch.state
    state.history_taste[:] = batch.simulator.catalog.embedding[state.candidates[:, 0]]
    state.taste[:] = state.history_taste
    obs = batch.observe()
    assert all(envs.single_observation_space.contains(row) for row in obs)


def test_catalog_churn_every_visit_redraws_only_the_churned_items(monkeypatch):
    """64 shoppers with a churn due at every visit: each step draws the 64 churns' items once (the old code drew
    and re-sorted the whole catalog 64 times a step), keeps the popularity order, and stays deterministic."""
    n_items, per_churn, n = 200_000, 20, 64
    drawn: list[int] = []
    draw_items = shopgym.catalog._draw_items

    def counting(rng, params, category, centroid, cat_price, appeal):
        drawn.append(category.shape[0])
        return draw_items(rng, params, category, centroid, cat_price, appeal)

    monkeypatch.setattr(shopgym.catalog, "_draw_items", counting)
    scenario = get_scenario("default").replace(
        catalog={"n_items": n_items, "n_categories": 8},
        drift=[{"kind": "catalog_churn", "every": 1, "fraction": per_churn / n_items}],
    )

    def run() -> np.ndarray:
        envs = gym.make_vec("shopgym/Recommend-v1", num_envs=n, scenario=scenario)
        obs, _ = envs.reset(seed=0)
        simulator = envs.batch.simulator
        observations = [obs]
        for _ in range(3):
            drawn.clear()
            before, clock = simulator.catalog, simulator.clock
            observations.append(envs.step(np.zeros(n, dtype=np.int64))[0])
            after, churns = simulator.catalog, simulator.clock - clock  # one churn due per visit served
            assert churns > n // 2
            assert drawn == [churns * per_churn]  # one draw per step, of exactly the churned items
            assert np.count_nonzero(~np.isin(after.price, before.price)) == churns * per_churn  # all distinct
            assert np.array_equal(np.lexsort((-after.popularity_weight, after.category)), np.arange(n_items))
            np.testing.assert_array_equal(after.category_count, before.category_count)
        return np.array(observations)

    first = run()
    second = run()
    np.testing.assert_array_equal(first, second)
