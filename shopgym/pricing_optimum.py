"""The exact optimum of ``Pricing-v1`` by dynamic programming over the reference price.

In the pricing reduction (``shopgym.tasks.pricing_scenario``) the shopper's only state is the reference price ρ,
which moves to ρ' = ζρ + (1 − ζ)x (:func:`shopgym.shoppers.reference_update`) whatever the shopper does when every
shown price forms the reference (ν = ``unexamined_price_weight`` = 1, the default). With ν < 1 it moves that far
only when the shopper clicks (examines the price), with probability q(ρ, x), and to ρ + ν(ρ' − ρ) otherwise; the
recursions below then take the expectation over the two, ``q·V(ρ') + (1 − q)·V(ρ + ν(ρ' − ρ))``. The expected
reward of charging the paid fraction x at state ρ, r(ρ, x), is computed with the simulator's own
utilities and its injected choice model's probabilities (so it is the model, not a copy of it).

* Fixed ends (an episode lasts H visits): backward induction
  ``V_H ≡ 0, V_t(ρ) = max_x [ r(ρ, x) + γ·V_{t+1}(ρ') ]``, ``J* = V_0(ρ₀)``; the policy depends on t.
* Geometric ends (after every visit with probability 1/H, the task's default): the continuation probability
  ``c = 1 − 1/H`` acts as a discount, ``V(ρ) = max_x [ r(ρ, x) + γ·c·V(ρ') ]``, solved by value iteration to a
  tolerance; the policy is stationary. (The env's safety cap at 20·H visits is ignored: it is reached with
  probability ≈ 2e−9.)

Both run on a fine ρ grid with linear interpolation. The grid covers every reachable ρ: [min(ρ₀, x_min),
max(ρ₀, x_max)]. Refining the grid bounds the interpolation error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from shopgym.choice import visit_utilities
from shopgym.envs.batch import ShopperBatch
from shopgym.reward import RewardFunction, expected_components
from shopgym.shoppers import ShopperState, reference_update, sample_shoppers
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
    horizon: int  # H: the episode's length, or its mean for geometric ends
    reward_fn: RewardFunction
    geometric: bool = False  # episodes end after every visit with probability 1/H
    unexamined: float = 1.0  # ν: the share of the ρ step taken when the shopper does not click

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
            rho0=float(shopper.reference_price[0, 0]),
            horizon=batch.time_scale,
            reward_fn=batch.simulator.reward_fn,
            geometric=batch.episode_end == "geometric",
            unexamined=batch.simulator.market.coefficients.unexamined_price_weight,
        )

    def expected_reward(self, rho: np.ndarray) -> np.ndarray:
        """[M, L] expected reward of each price level at reference prices ``rho`` [M] (see :meth:`visit`)."""
        return self.visit(rho)[0]

    def visit(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[M, L] expected reward and [M, L] click probability of each price level at reference prices ``rho`` [M].

        Uses the core's utilities and the injected choice model's probabilities on a batch of identical shoppers that
        differ only in ρ; the reward function is applied to the expected components (exact for rewards linear in
        them, as all the built-in kinds are).
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
        state.reference_price = np.repeat(rho, n_levels)[:, None]
        paid = np.tile(self.levels, n_rho)[:, None]
        items = np.zeros((n_rho * n_levels, 1), dtype=np.int64)
        utilities = visit_utilities(state, sim.catalog, sim.market.coefficients, items, paid)
        p = sim.choice_model.probabilities(utilities)
        price, cost, x = sim.catalog.price[0], sim.catalog.cost[0], paid[:, 0]
        no_churn = np.zeros(x.shape)
        components = expected_components(p.click[:, 1], p.buy[:, 0], p.units[:, 0], no_churn, price, cost, x)
        return self.reward_fn(components).reshape(n_rho, n_levels), p.click[:, 1].reshape(n_rho, n_levels)

    def next_rho(self, rho: np.ndarray) -> np.ndarray:
        """[M, L] reference price after charging each level at ``rho`` [M] to a shopper who examines the price (with
        ν = 1: to every shopper)."""
        return reference_update(rho[:, None], self.levels[None, :], self.memory)

    def transitions(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """[M, L] ρ after each level at ``rho`` [M] when the shopper clicks (:meth:`next_rho`), and when not:
        ρ + ν(ρ' − ρ), or None with ν = 1 (the same ρ')."""
        following = self.next_rho(rho)
        if self.unexamined == 1.0:
            return following, None
        return following, rho[:, None] + self.unexamined * (following - rho[:, None])

    @staticmethod
    def expected_future(
        click: np.ndarray, transitions: tuple[np.ndarray, np.ndarray | None], grid: np.ndarray, value: np.ndarray
    ) -> np.ndarray:
        """[M, L] expected value on ``grid`` after each level: V(ρ') with ν = 1, else q·V(ρ') + (1 − q)·V(ρ_skip)
        with ``click`` q [M, L] and ``transitions`` (ρ', ρ_skip) from :meth:`transitions`."""
        following, skipped = transitions
        if skipped is None:
            return np.interp(following, grid, value)
        return click * np.interp(following, grid, value) + (1.0 - click) * np.interp(skipped, grid, value)


@dataclass(frozen=True, eq=False)
class PricingSolution:
    """Dynamic-programming result on a ρ grid."""

    model: PricingModel
    gamma: float
    grid: np.ndarray  # [G]
    value: np.ndarray  # [H + 1, G], V_t on the grid (geometric ends: [2, G], the stationary V twice)
    reward_table: np.ndarray  # [G, L], r(ρ, x) on the grid

    @property
    def j_star(self) -> float:
        """Optimal expected return from the initial reference price (interpolated at ρ₀)."""
        return float(np.interp(self.model.rho0, self.grid, self.value[0]))

    def q_values(self, t: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """[M, L] action values at visits ``t`` [M] (0-based) and reference prices ``rho`` [M]."""
        t = np.zeros_like(t) if self.model.geometric else np.clip(t, 0, self.model.horizon - 1)
        reward, click = self.model.visit(rho)
        future = np.empty_like(reward)
        for step in np.unique(t):
            rows = t == step
            moved = self.model.transitions(rho[rows])
            future[rows] = self.model.expected_future(click[rows], moved, self.grid, self.value[step + 1])
        return reward + self.continuation * future

    @property
    def continuation(self) -> float:
        """The factor on the next visit's value: γ, times the probability 1 − 1/H that the episode goes on when
        ends are geometric."""
        return self.gamma * (1.0 - 1.0 / self.model.horizon) if self.model.geometric else self.gamma

    def act(self, t: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """Optimal level index [M] at visits ``t`` and reference prices ``rho``."""
        return np.argmax(self.q_values(np.asarray(t), np.asarray(rho, dtype=np.float64)), axis=1)

    def path(self, visits: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The deterministic ρ path [V + 1] and price path [V] (paid fractions) of the optimal policy from ρ₀, over
        ``visits`` V (default H). With ν < 1 ρ moves at random; this is then its path through examined prices (the
        shopper clicks every visit): with ν = 0 the sequence of prices the shopper examines, each shown until the
        next click."""
        rho = [self.model.rho0]
        prices = []
        for t in range(self.model.horizon if visits is None else visits):
            level = self.act(np.array([t]), np.array([rho[-1]]))[0]
            prices.append(self.model.levels[level])
            rho.append(float(reference_update(rho[-1], prices[-1], self.model.memory)))
        return np.array(rho), np.array(prices)


def solve_pricing(
    model: PricingModel, gamma: float = 1.0, grid_size: int = 2001, tolerance: float = 1e-10
) -> PricingSolution:
    """The optimum on a uniform ρ grid of ``grid_size`` points: backward induction over ``model.horizon`` visits for
    fixed ends, value iteration until the value moves by less than ``tolerance`` (relative) for geometric ends."""
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma = {gamma!r} is outside the allowed range [0, 1]")
    if grid_size < 2:
        raise ValueError(f"grid_size = {grid_size!r} must be at least 2")
    low = min(model.rho0, float(model.levels.min()))
    high = max(model.rho0, float(model.levels.max()))
    grid = np.linspace(low, high, grid_size)
    rewards, click = model.visit(grid)
    moved = model.transitions(grid)
    if model.geometric:
        continuation = gamma * (1.0 - 1.0 / model.horizon)
        value = np.zeros(grid_size)
        while True:
            updated = (rewards + continuation * model.expected_future(click, moved, grid, value)).max(axis=1)
            change = np.abs(updated - value).max()
            value = updated
            if change <= tolerance * max(np.abs(value).max(), 1.0):
                break
        return PricingSolution(model, gamma, grid, np.stack([value, value]), rewards)
    value = np.zeros((model.horizon + 1, grid_size))
    for t in range(model.horizon - 1, -1, -1):
        value[t] = (rewards + gamma * model.expected_future(click, moved, grid, value[t + 1])).max(axis=1)
    return PricingSolution(model=model, gamma=gamma, grid=grid, value=value, reward_table=rewards)
