"""The exact optimum of ``Pricing-v0`` by dynamic programming over the reference price.

In the pricing reduction (``shopgym.tasks.pricing_scenario``) the shopper's only state is the reference price ρ,
which moves deterministically, ρ' = ζρ + (1 − ζ)x, whatever the shopper does. The expected reward of charging
the paid fraction x at state ρ, r(ρ, x), is computed with the simulator's own choice functions (so it is the
model, not a copy of it). Backward induction over the horizon H,

    V_H ≡ 0,   V_t(ρ) = max_x [ r(ρ, x) + γ·V_{t+1}(ζρ + (1 − ζ)x) ],   J* = V_0(ρ₀),

on a fine ρ grid with linear interpolation gives J* and the optimal (time-dependent) policy. The grid covers
every reachable ρ: [min(ρ₀, x_min), max(ρ₀, x_max)]. Refining the grid bounds the interpolation error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from shopgym.choice import click_probabilities, purchase_probabilities, visit_utilities
from shopgym.envs.batch import ShopperBatch
from shopgym.reward import RewardFunction
from shopgym.shoppers import ShopperState, sample_shoppers
from shopgym.tasks import Pricing

__all__ = ["PricingModel", "PricingSolution", "solve_pricing"]


def _aggregate_shopper(batch: ShopperBatch) -> ShopperState:
    """The pricing task's single shopper type (its traits have zero spread, so any generator gives the same
    shopper; a private one leaves the env's random streams untouched)."""
    sim = batch.simulator
    return sample_shoppers(np.random.default_rng(0), sim.market, 1, sim.catalog.n_categories, 1)


@dataclass(frozen=True, eq=False)
class PricingModel:
    """Expected one-visit reward and the ρ transition of a seeded ``Pricing`` batch."""

    batch: ShopperBatch
    levels: np.ndarray  # [L] paid fractions of list price
    memory: float  # ζ
    rho0: float
    horizon: int
    reward_fn: RewardFunction

    @classmethod
    def from_batch(cls, batch: ShopperBatch) -> PricingModel:
        """Read the model off a ``pricing`` batch (seeded, so that its catalog exists)."""
        if not isinstance(batch.task, Pricing):
            raise ValueError(f"the DP solves the pricing task, not {batch.task.name!r}")
        shopper = _aggregate_shopper(batch)
        return cls(
            batch=batch,
            levels=batch.task.price_levels,
            memory=batch.simulator.market.coefficients.reference_memory,
            rho0=float(shopper.reference_price[0]),
            horizon=batch.horizon,
            reward_fn=batch.simulator.reward_fn,
        )

    def expected_reward(self, rho: np.ndarray) -> np.ndarray:
        """[M, L] expected reward of each price level at reference prices ``rho`` [M].

        Uses the core's utilities and MNL probabilities on a batch of identical shoppers that differ only in ρ;
        the reward function is applied to the expected components (exact for rewards linear in them, as all the
        built-in kinds are).
        """
        sim = self.batch.simulator
        n_rho, n_levels = rho.shape[0], self.levels.shape[0]
        template = _aggregate_shopper(self.batch)
        state = ShopperState(
            **{
                f.name: np.repeat(getattr(template, f.name), n_rho * n_levels, axis=0)
                for f in dataclasses.fields(template)
            }
        )
        state.reference_price = np.repeat(rho, n_levels)
        paid = np.tile(self.levels, n_rho)[:, None]
        items = np.zeros((n_rho * n_levels, 1), dtype=np.int64)
        utilities = visit_utilities(state, sim.catalog, sim.market.coefficients, items, paid)
        bought = purchase_probabilities(utilities)[:, 0]
        price, cost, x = sim.catalog.price[0], sim.catalog.cost[0], paid[:, 0]
        components = {
            "revenue": bought * price * x,
            "profit": bought * (price * x - cost),
            "discount_cost": bought * price * (1.0 - x),
            "clicks": click_probabilities(utilities)[:, 1],
            "purchases": bought,
            "churn": np.zeros_like(bought),
        }
        return self.reward_fn(components).reshape(n_rho, n_levels)

    def next_rho(self, rho: np.ndarray) -> np.ndarray:
        """[M, L] reference price after charging each level at ``rho`` [M]."""
        return self.memory * rho[:, None] + (1.0 - self.memory) * self.levels[None, :]


@dataclass(frozen=True, eq=False)
class PricingSolution:
    """Backward-induction result on a ρ grid."""

    model: PricingModel
    gamma: float
    grid: np.ndarray  # [G]
    value: np.ndarray  # [H + 1, G], V_t on the grid
    reward_table: np.ndarray  # [G, L], r(ρ, x) on the grid

    @property
    def j_star(self) -> float:
        """Optimal expected return from the initial reference price (interpolated at ρ₀)."""
        return float(np.interp(self.model.rho0, self.grid, self.value[0]))

    def q_values(self, t: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """[M, L] action values at visits ``t`` [M] (0-based) and reference prices ``rho`` [M]."""
        t = np.clip(t, 0, self.model.horizon - 1)
        following = self.model.next_rho(rho)
        future = np.empty_like(following)
        for step in np.unique(t):
            rows = t == step
            future[rows] = np.interp(following[rows], self.grid, self.value[step + 1])
        return self.model.expected_reward(rho) + self.gamma * future

    def act(self, t: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """Optimal level index [M] at visits ``t`` and reference prices ``rho``."""
        return np.argmax(self.q_values(np.asarray(t), np.asarray(rho, dtype=np.float64)), axis=1)

    def path(self) -> tuple[np.ndarray, np.ndarray]:
        """The deterministic ρ path [H + 1] and price path [H] (paid fractions) of the optimal policy from ρ₀."""
        rho = [self.model.rho0]
        prices = []
        for t in range(self.model.horizon):
            level = self.act(np.array([t]), np.array([rho[-1]]))[0]
            prices.append(self.model.levels[level])
            rho.append(self.model.memory * rho[-1] + (1.0 - self.model.memory) * prices[-1])
        return np.array(rho), np.array(prices)


def solve_pricing(model: PricingModel, gamma: float = 1.0, grid_size: int = 2001) -> PricingSolution:
    """Backward induction over ``model.horizon`` visits on a uniform ρ grid of ``grid_size`` points."""
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma = {gamma!r} is outside the allowed range [0, 1]")
    if grid_size < 2:
        raise ValueError(f"grid_size = {grid_size!r} must be at least 2")
    low = min(model.rho0, float(model.levels.min()))
    high = max(model.rho0, float(model.levels.max()))
    grid = np.linspace(low, high, grid_size)
    rewards = model.expected_reward(grid)
    following = model.next_rho(grid)
    value = np.zeros((model.horizon + 1, grid_size))
    for t in range(model.horizon - 1, -1, -1):
        future = np.interp(following, grid, value[t + 1])
        value[t] = (rewards + gamma * future).max(axis=1)
    return PricingSolution(model=model, gamma=gamma, grid=grid, value=value, reward_table=rewards)
