"""Policies that read the simulator's hidden state: the myopic oracle and the exact Pricing-v0 optimum.

They receive the env's :class:`~shopgym.envs.batch.ShopperBatch` in ``act(obs, batch)`` and compute exact
multinomial-logit expectations with the core's own functions, so they are the model's best responses, not
estimates. They are references for the gap between learned policies and what is possible.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from agents.base import BasePolicy, TaskInfo
from agents.features import arm_grid
from shopgym.choice import visit_utilities
from shopgym.envs.batch import ShopperBatch
from shopgym.pricing_optimum import PricingModel, PricingSolution, solve_pricing

__all__ = ["DPPricingPolicy", "MyopicOracle", "expected_visit_reward"]


def _need_batch(batch: ShopperBatch | None, name: str) -> ShopperBatch:
    if batch is None or batch.state is None:
        raise ValueError(f"{name} reads the hidden state: call act(obs, batch=<the env's ShopperBatch>)")
    return batch


def expected_visit_reward(batch: ShopperBatch, items: np.ndarray, paid: np.ndarray) -> np.ndarray:
    """[N, A] expected reward of showing each of A single items ``items`` [N, A] (catalog ids) alone at
    ``paid`` [A] paid fractions, for every shopper of ``batch`` in its current state.

    Exact under the model: click alone = σ(C − C₀), purchase = click·σ(W); churn expectation over the three
    outcomes (buy, click without buying, no click) for the CLV reward. The reward function is applied to the
    expected components (exact for the built-in kinds, which are linear in them).
    """
    sim, state = batch.simulator, batch.state
    coef = sim.market.coefficients
    n, n_arms = items.shape
    paid_matrix = np.broadcast_to(paid, (n, n_arms))
    no_position = dataclasses.replace(coef, position_decay=0.0)
    utilities = visit_utilities(state, sim.catalog, no_position, items, paid_matrix)
    click = 1.0 / (1.0 + np.exp(utilities.outside[:, None] - utilities.click))
    buy = click / (1.0 + np.exp(-utilities.purchase))
    price, cost = sim.catalog.price[items], sim.catalog.cost[items]

    def hazard(engagement: np.ndarray) -> np.ndarray:
        e = np.clip(engagement, 0.0, 1.0)
        return coef.churn_min + (coef.churn_max - coef.churn_min) * (1.0 - e) ** coef.churn_power

    e = state.engagement[:, None]
    churn = (
        buy * hazard(e + coef.engagement_gain_purchase)
        + (click - buy) * hazard(e - coef.engagement_loss_disappoint)
        + (1.0 - click) * hazard(e - coef.engagement_loss_ignore)
    )
    components = {
        "revenue": buy * price * paid_matrix,
        "profit": buy * (price * paid_matrix - cost),
        "discount_cost": buy * price * (1.0 - paid_matrix),
        "clicks": click,
        "purchases": buy,
        "churn": churn,
    }
    return sim.reward_fn(components)


class MyopicOracle(BasePolicy):
    """Maximises the exact expected reward of this visit given the hidden state (ignores the future).

    For slates it builds the slate greedily, position by position, maximising the expected reward of the
    slate under the MNL with position bias (assortment optimisation is hard; greedy is the usual heuristic).
    """

    name = "myopic_oracle"

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        batch = _need_batch(batch, self.name)
        if self.info.name == "slate":
            return self._slate(batch)
        item, level, paid = arm_grid(self.info)
        items = batch.state.candidates[:, item]
        best = np.argmax(expected_visit_reward(batch, items, paid), axis=1)
        return self.info.encode(item[best], level[best])

    def _slate(self, batch: ShopperBatch) -> np.ndarray:
        sim, state = batch.simulator, batch.state
        coef = sim.market.coefficients
        n, k = state.candidates.shape
        utilities = visit_utilities(
            state, sim.catalog, dataclasses.replace(coef, position_decay=0.0), state.candidates, np.ones((n, k))
        )
        reward_if_clicked = expected_visit_reward(batch, state.candidates, np.ones(k))
        click_alone = 1.0 / (1.0 + np.exp(utilities.outside[:, None] - utilities.click))
        value = np.divide(reward_if_clicked, click_alone, out=np.zeros_like(reward_if_clicked), where=click_alone > 0)
        weight = np.exp(utilities.click - utilities.outside[:, None])  # e^{C_k − C₀}
        numerator, denominator = np.zeros(n), np.ones(n)
        slate = np.zeros((n, self.info.task.slate_size), dtype=np.int64)
        taken = np.zeros((n, k), dtype=bool)
        rows = np.arange(n)
        for position in range(slate.shape[1]):
            w = weight * np.exp(-coef.position_decay * np.log1p(position))
            gain = (numerator[:, None] + w * value) / (denominator[:, None] + w)
            gain[taken] = -np.inf
            pick = np.argmax(gain, axis=1)
            slate[:, position] = pick
            taken[rows, pick] = True
            numerator += w[rows, pick] * value[rows, pick]
            denominator += w[rows, pick]
        return slate


class DPPricingPolicy(BasePolicy):
    """The optimal Pricing-v0 policy from backward induction (observes ρ and the visit index; no hidden state)."""

    name = "dp_optimal"
    tasks = ("pricing",)

    def __init__(self, info: TaskInfo, solution: PricingSolution, seed: int | None = None) -> None:
        super().__init__(info, seed)
        self.solution = solution
        self.params = {"gamma": solution.gamma, "grid_size": int(solution.grid.size), "j_star": solution.j_star}

    @classmethod
    def solve(cls, batch: ShopperBatch, gamma: float = 1.0, grid_size: int = 4001) -> DPPricingPolicy:
        """Solve the seeded pricing ``batch``'s market and wrap the solution."""
        return cls(TaskInfo(batch.task, batch.horizon), solve_pricing(PricingModel.from_batch(batch), gamma, grid_size))

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        rho = self.info.layout.shopper(obs, "reference_price").astype(np.float64)
        return self.solution.act(self.info.visit_index(obs), rho)
