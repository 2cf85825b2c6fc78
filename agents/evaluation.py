"""Evaluate any policy on a batch of shoppers: one episode per shopper, same shopper seeds for every policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the ids)
from shopgym.agents.base import Policy, TaskInfo

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

    @property
    def ci95_half_width(self) -> float:
        """1.96 standard errors of :attr:`mean_return` over shoppers (a normal-approximation 95 % interval)."""
        n = self.returns.size
        return float(1.96 * self.returns.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0

    @property
    def iqm_return(self) -> float:
        """Interquartile mean of the per-shopper returns: the mean of the middle half (a quarter cut off each end,
        as ``scipy.stats.trim_mean(returns, 0.25)``)."""
        cut = int(0.25 * self.returns.size)
        return float(np.sort(self.returns)[cut : self.returns.size - cut].mean())

    def summary(self) -> dict[str, Any]:
        """The number of shoppers, the return's mean with its 95 % interval and its IQM, then the :meth:`kpis`, as
        JSON-ready values (``shopgym eval`` prints this)."""
        half = self.ci95_half_width
        return {
            "n_shoppers": int(self.returns.size),
            "mean_return": self.mean_return,
            "ci95": [self.mean_return - half, self.mean_return + half],
            "ci_method": "normal approximation over shoppers: mean ± 1.96 standard errors",
            "iqm_return": self.iqm_return,
            **self.kpis(),
        }

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
    _check_fits(policy, envs, env_id)
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


def _check_fits(policy: Policy, envs: gym.vector.VectorEnv, env_id: str) -> None:
    """A policy built for a task acts only where the observations and actions are that task's."""
    info = getattr(policy, "info", None)
    if not isinstance(info, TaskInfo):
        return
    wanted = (info.task.observation_space.shape, info.action_space)
    offered = (envs.single_observation_space.shape, envs.single_action_space)
    if wanted != offered:
        envs.close()
        raise ValueError(
            f"{policy.name} acts in the {info.name} task (observations of shape {wanted[0]}, actions {wanted[1]}); "
            f"{env_id} has observations of shape {offered[0]} and actions {offered[1]}"
        )
