"""The dynamic-programming optimum of Pricing-v1: consistency with the simulator, convergence, optimality."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import VecEnv

import shopgym  # noqa: F401
from shopgym.envs.batch import ShopperBatch
from shopgym.envs.sb3 import make_sb3_vec_env
from shopgym.pricing_optimum import PricingModel, PricingSolution, solve_pricing
from shopgym.scenarios import get_scenario


def model_for(scenario: str, horizon: int = 50, episode_end: str = "fixed") -> PricingModel:
    batch = ShopperBatch("pricing", 1, scenario=scenario, horizon=horizon, episode_end=episode_end, mean_visits=horizon)
    batch.seed(0)
    return PricingModel.from_batch(batch)


def path_return(model: PricingModel, prices: np.ndarray, gamma: float = 1.0) -> float:
    """Exact expected return of a fixed price sequence (ρ moves deterministically; with geometric ends the visit t
    happens with probability (1 − 1/H)^t)."""
    rho, total = model.rho0, 0.0
    factor = gamma * (1 - 1 / model.horizon) if model.geometric else gamma
    for t, x in enumerate(prices):
        level = int(np.argmin(np.abs(model.levels - x)))
        total += factor**t * model.expected_reward(np.array([rho]))[0, level]
        rho = model.memory * rho + (1 - model.memory) * x
    return total


def test_expected_reward_matches_sampled_visits():
    model = model_for("default")
    n = 200_000
    envs = gym.make_vec("shopgym/Pricing-v1", num_envs=n)
    obs, _ = envs.reset(seed=1)
    level = 7
    _, reward, _, _, _ = envs.step(np.full(n, level))
    expected = model.expected_reward(obs[:1, 0].astype(np.float64))[0, level]
    assert abs(reward.mean() - expected) < 4 * reward.std() / np.sqrt(n)


def test_grid_refinement_converges():
    model = model_for("default")
    values = [solve_pricing(model, grid_size=g).j_star for g in (201, 801, 3201)]
    assert abs(values[1] - values[2]) < 1e-3 * abs(values[2])
    assert abs(values[0] - values[2]) >= abs(values[1] - values[2])


@pytest.mark.parametrize("episode_end", ["fixed", "geometric"])
@pytest.mark.parametrize("scenario", ["default", "grocery", "electronics"])
def test_no_fixed_price_sequence_beats_the_optimum(scenario, episode_end):
    model = model_for(scenario, episode_end=episode_end)
    solution = solve_pricing(model, grid_size=3201)
    length = model.horizon if episode_end == "fixed" else 10 * model.horizon  # geometric: (1 − 1/50)^500 ≈ 4e−5
    _, optimal_prices = solution.path(length)
    j_path = path_return(model, optimal_prices)
    assert j_path == pytest.approx(solution.j_star, rel=1e-3)
    for x in model.levels:  # every constant price
        assert path_return(model, np.full(length, x)) <= solution.j_star * (1 + 1e-3)
    rng = np.random.default_rng(0)
    for _ in range(20):  # random price sequences
        assert path_return(model, rng.choice(model.levels, length)) <= solution.j_star * (1 + 1e-3)


def test_discounted_solution_uses_gamma():
    model = model_for("default", horizon=20)
    undiscounted = solve_pricing(model, gamma=1.0).j_star
    discounted = solve_pricing(model, gamma=0.9).j_star
    assert 0 < discounted < undiscounted


def play_geometric(solution: PricingSolution, venv: VecEnv) -> np.ndarray:
    """Each shopper's return [N] when the optimal stationary policy prices until the episode ends."""
    obs = venv.reset()
    returns, open_ = np.zeros(venv.num_envs), np.ones(venv.num_envs, dtype=bool)
    while open_.any():
        obs, reward, done, _ = venv.step(solution.act(np.zeros(venv.num_envs, dtype=np.int64), obs[:, 0]))
        returns += open_ * reward
        open_ &= ~done
    return returns


def test_simulated_optimal_policy_reproduces_j_star_with_geometric_ends():
    model = model_for("default", horizon=10, episode_end="geometric")
    solution = solve_pricing(model, grid_size=2001)
    returns = play_geometric(solution, make_sb3_vec_env("shopgym/Pricing-v1", num_envs=20_000, seed=5, mean_visits=10))
    assert abs(returns.mean() - solution.j_star) < 4 * returns.std() / np.sqrt(returns.size)


def test_simulated_optimal_policy_reproduces_j_star():
    model = model_for("grocery", horizon=30)
    solution = solve_pricing(model, grid_size=2001)
    n = 20_000
    envs = gym.make_vec("shopgym/Pricing-v1", num_envs=n, scenario="grocery", max_episode_steps=30, episode_end="fixed")
    obs, _ = envs.reset(seed=3)
    returns = np.zeros(n)
    for t in range(30):
        obs, reward, terminated, truncated, _ = envs.step(solution.act(np.full(n, t), obs[:, 0]))
        returns += reward
    assert truncated.all() and not terminated.any()
    assert abs(returns.mean() - solution.j_star) < 4 * returns.std() / np.sqrt(n)


def test_with_only_examined_prices_forming_the_reference_the_dp_still_reproduces_j_star():
    """ν = 0: ρ moves only after a click, so the DP takes the expectation over the click; Monte Carlo in the env
    agrees."""
    scenario = get_scenario("default").replace(dynamics={"unexamined_price_weight": 0.0})
    batch = ShopperBatch("pricing", 1, scenario=scenario, horizon=10, episode_end="geometric", mean_visits=10)
    batch.seed(0)
    model = PricingModel.from_batch(batch)
    assert model.unexamined == 0.0
    solution = solve_pricing(model, grid_size=2001)
    venv = make_sb3_vec_env("shopgym/Pricing-v1", num_envs=20_000, seed=5, mean_visits=10, scenario=scenario)
    returns = play_geometric(solution, venv)
    assert abs(returns.mean() - solution.j_star) < 4 * returns.std() / np.sqrt(returns.size)
    assert solution.j_star != pytest.approx(solve_pricing(model_for("default", 10, "geometric")).j_star, rel=1e-3)


def test_bad_arguments():
    model = model_for("default")
    with pytest.raises(ValueError, match="gamma"):
        solve_pricing(model, gamma=1.5)
    with pytest.raises(ValueError, match="grid_size"):
        solve_pricing(model, grid_size=1)
    batch = ShopperBatch("recommend", 1)
    batch.seed(0)
    with pytest.raises(ValueError, match="pricing task"):
        PricingModel.from_batch(batch)
