"""Oracles on the hidden state: the exact expected reward of a visit under the model, and greedy slates.

These read a :class:`~shopgym.envs.batch.ShopperBatch`'s hidden shopper state and use the core's own choice
functions, so they give the model's exact multinomial-logit expectations. ``shopgym.agents.oracles`` wraps them as
policies; the exact Pricing-v0 optimum is in :mod:`shopgym.pricing_optimum`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shopgym.choice import visit_utilities
from shopgym.envs.batch import ShopperBatch

__all__ = ["expected_visit_reward", "greedy_slate"]


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


def greedy_slate(batch: ShopperBatch, slate_size: int) -> np.ndarray:
    """[N, slate_size] candidate positions chosen greedily, position by position, to maximise the slate's
    expected reward under the MNL with position bias (exact assortment optimisation is hard; greedy is the
    usual heuristic). Exact per-click values for the profit, revenue and clicks rewards."""
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
    slate = np.zeros((n, slate_size), dtype=np.int64)
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
