"""Oracle policies: the myopic oracle (hidden state) and the exact Pricing-v1 optimum.

The myopic oracle receives the env's :class:`~shopgym.envs.batch.ShopperBatch` in ``act(obs, batch)`` and
maximises the exact expected reward of the visit (:mod:`shopgym.oracles`); the DP policy plays the dynamic-
programming optimum (:mod:`shopgym.pricing_optimum`). They are references for the gap between learned policies
and what is possible.
"""

from __future__ import annotations

import numpy as np

from shopgym.agents.base import BasePolicy, TaskInfo
from shopgym.envs.batch import ShopperBatch
from shopgym.oracles import expected_visit_reward, greedy_slate
from shopgym.pricing_optimum import PricingModel, PricingSolution, solve_pricing

__all__ = ["DPPricingPolicy", "MyopicOracle"]


def _need_batch(batch: ShopperBatch | None, name: str) -> ShopperBatch:
    if batch is None or batch.state is None:
        raise ValueError(f"{name} reads the hidden state: call act(obs, batch=<the env's ShopperBatch>)")
    return batch


class MyopicOracle(BasePolicy):
    """Maximises the exact expected reward of this visit given the hidden state (ignores the future).

    For a task whose action is a slate (not one arm) it builds the slate greedily, position by position,
    maximising the expected reward of the slate under the choice model with position bias (assortment optimisation is
    hard; greedy is the usual heuristic).
    """

    name = "myopic_oracle"

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        batch = _need_batch(batch, self.name)
        task = self.info.task
        if not task.arm_actions:
            return greedy_slate(batch, task.slate_size)
        item, level, paid = task.arms()
        items = batch.state.candidates[:, item]
        best = np.argmax(expected_visit_reward(batch, items, paid), axis=1)
        return task.encode(item[best], level[best])


class DPPricingPolicy(BasePolicy):
    """The optimal Pricing-v1 policy by dynamic programming (observes ρ, and the visit index for fixed ends; no hidden
    state)."""

    name = "dp_optimal"
    requires = ("sets_price",)

    def __init__(self, info: TaskInfo, solution: PricingSolution, seed: int | None = None) -> None:
        super().__init__(info, seed)
        self.solution = solution
        self.params = {"gamma": solution.gamma, "grid_size": int(solution.grid.size), "j_star": solution.j_star}

    @classmethod
    def solve(cls, batch: ShopperBatch, gamma: float = 1.0, grid_size: int = 4001) -> DPPricingPolicy:
        """Solve the seeded pricing ``batch``'s market and wrap the solution."""
        return cls(
            TaskInfo(batch.task, batch.time_scale), solve_pricing(PricingModel.from_batch(batch), gamma, grid_size)
        )

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        rho = self.info.layout.shopper(obs, "reference_price").astype(np.float64)
        return self.solution.act(self.info.visit_index(obs), rho)
