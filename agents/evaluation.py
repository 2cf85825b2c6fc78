"""Evaluate any policy on a batch of shoppers: one episode per shopper, same shopper seeds for every policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the ids)
from agents.base import Policy

__all__ = ["Evaluation", "evaluate"]

KPI_COMPONENTS = ("revenue", "profit", "discount_cost", "clicks", "purchases", "churn")


@dataclass(frozen=True)
class Evaluation:
    """Per-shopper totals over one episode each (arrays [n_shoppers]) and the visits served."""

    returns: np.ndarray
    totals: dict[str, np.ndarray]
    visits: np.ndarray

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean())

    def kpis(self) -> dict[str, float]:
        """Business KPIs: profit, revenue, purchases and discount cost per shopper (currency units or counts over
        the episode), CTR (clicks per visit), conversion (purchases per click), average discount (share of the
        list value of purchases given away) and retention (share of shoppers who did not churn)."""
        t = {k: float(v.sum()) for k, v in self.totals.items()}
        list_value = t["revenue"] + t["discount_cost"]
        return {
            "return": self.mean_return,
            "profit_per_shopper": t["profit"] / self.returns.size,
            "revenue_per_shopper": t["revenue"] / self.returns.size,
            "purchases_per_shopper": t["purchases"] / self.returns.size,
            "discount_cost_per_shopper": t["discount_cost"] / self.returns.size,
            "ctr": t["clicks"] / float(self.visits.sum()),
            "conversion": t["purchases"] / max(t["clicks"], 1.0),
            "avg_discount": t["discount_cost"] / list_value if list_value > 0 else 0.0,
            "retention": 1.0 - t["churn"] / self.returns.size,
        }


def evaluate(
    policy: Policy, env_id: str, n_shoppers: int = 1024, seed: int = 0, learn: bool = False, **env_kwargs: Any
) -> Evaluation:
    """Run one episode for each of ``n_shoppers`` shoppers (a vector env seeded with ``seed``, so every policy
    meets the same shoppers and market: common random numbers). With ``learn`` the policy's ``update`` is called
    after every step (online bandits); otherwise the policy is only asked to act."""
    envs = gym.make_vec(env_id, num_envs=n_shoppers, **env_kwargs)
    obs, _ = envs.reset(seed=seed)
    active = np.ones(n_shoppers, dtype=bool)
    returns = np.zeros(n_shoppers)
    visits = np.zeros(n_shoppers)
    totals = {k: np.zeros(n_shoppers) for k in KPI_COMPONENTS}
    while active.any():
        actions = policy.act(obs, batch=envs.batch)
        next_obs, reward, terminated, truncated, info = envs.step(actions)
        if learn:
            policy.update(
                obs[active],
                np.asarray(actions)[active],
                reward[active],
                next_obs[active],
                (terminated | truncated)[active],
            )
        returns += reward * active
        visits += active
        for key in KPI_COMPONENTS:
            totals[key] += info[key] * active
        active &= ~(terminated | truncated)
        obs = next_obs
    envs.close()
    return Evaluation(returns=returns, totals=totals, visits=visits)
