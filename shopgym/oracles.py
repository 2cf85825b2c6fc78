"""Oracles on the hidden state: the exact expected reward of a visit under the model, and greedy slates.

These read a :class:`~shopgym.envs.batch.ShopperBatch`'s hidden shopper state and use the core's own choice
functions and the injected choice model's ``probabilities``, so they give the model's exact expectations.
``shopgym.agents.oracles`` wraps them as policies; the exact Pricing-v1 optimum is in :mod:`shopgym.pricing_optimum`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shopgym.choice import visit_utilities
from shopgym.envs.batch import ShopperBatch
from shopgym.reward import expected_components
from shopgym.shoppers import churn_hazard, engagement_after

__all__ = ["expected_visit_reward", "greedy_slate"]


def expected_visit_reward(batch: ShopperBatch, items: np.ndarray, paid: np.ndarray) -> np.ndarray:
    """[N, A] expected reward of showing each of A single items ``items`` [N, A] (catalog ids) alone at
    ``paid`` [A] paid fractions, for every shopper of ``batch`` in its current state.

    Exact under the model: the injected choice model's probabilities of each arm shown alone, the expected units
    of a purchase, and the churn expectation over the three outcomes (buy, click without buying, no click) for
    the CLV reward. The reward function is applied to the expected components (exact for the built-in kinds,
    which are linear in them).
    """
    sim, state = batch.simulator, batch.state
    coef = sim.market.coefficients
    n, n_arms = items.shape
    paid_matrix = np.broadcast_to(paid, (n, n_arms))
    # every arm is shown alone, at the first position: no position term (it applies to slates of several slots)
    alone = dataclasses.replace(coef, position_decay=0.0)
    utilities = visit_utilities(state, sim.catalog, alone, items, paid_matrix).single_items()
    probabilities = sim.choice_model.probabilities(utilities)
    click = probabilities.click[:, 1].reshape(n, n_arms)
    buy = probabilities.buy[:, 0].reshape(n, n_arms)
    units = probabilities.units[:, 0].reshape(n, n_arms)
    e = state.engagement[:, None]
    churn = (
        buy * churn_hazard(engagement_after(e, coef, 1.0, 1.0), coef)
        + (click - buy) * churn_hazard(engagement_after(e, coef, 1.0, 0.0), coef)
        + (1.0 - click) * churn_hazard(engagement_after(e, coef, 0.0, 0.0), coef)
    )
    price, cost = sim.catalog.price[items], sim.catalog.cost[items]
    return sim.reward_fn(expected_components(click, buy, units, churn, price, cost, paid_matrix))


def greedy_slate(batch: ShopperBatch, slate_size: int) -> np.ndarray:
    """[N, slate_size] candidate positions chosen greedily, position by position, to maximise the slate's
    expected reward under the injected choice model (exact assortment optimisation is hard; greedy is the usual
    heuristic). A click on candidate k is worth its expected reward given the click, exact for the profit,
    revenue and clicks rewards."""
    sim, state = batch.simulator, batch.state
    coef = sim.market.coefficients
    n, k = state.candidates.shape
    reward_alone = expected_visit_reward(batch, state.candidates, np.ones(k))
    first = dataclasses.replace(coef, position_decay=0.0)  # each candidate alone, at the first position
    alone = visit_utilities(state, sim.catalog, first, state.candidates, np.ones((n, k))).single_items()
    click_alone = sim.choice_model.probabilities(alone).click[:, 1].reshape(n, k)
    value = np.divide(reward_alone, click_alone, out=np.zeros_like(reward_alone), where=click_alone > 0)
    trial_state = state.take(np.repeat(np.arange(n), k))  # row n·k + c: shopper n trying candidate c next
    rows = np.arange(n)
    slate = np.zeros((n, 0), dtype=np.int64)
    taken = np.zeros((n, k), dtype=bool)
    for _ in range(slate_size):
        trial = np.concatenate([np.repeat(slate, k, axis=0), np.tile(np.arange(k), n)[:, None]], axis=1)
        items = np.take_along_axis(np.repeat(state.candidates, k, axis=0), trial, axis=1)
        utilities = visit_utilities(trial_state, sim.catalog, coef, items, np.ones(items.shape))
        click = sim.choice_model.probabilities(utilities).click[:, 1:]
        worth = (click * np.take_along_axis(np.repeat(value, k, axis=0), trial, axis=1)).sum(axis=1).reshape(n, k)
        worth[taken] = -np.inf
        pick = np.argmax(worth, axis=1)
        slate = np.column_stack([slate, pick])
        taken[rows, pick] = True
    return slate
