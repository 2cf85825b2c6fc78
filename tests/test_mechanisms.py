"""The mechanisms of shopper model v2, each shown on the batched core (docs/model.md): promotions pull purchases
forward and leave a dip, shoppers do not re-buy what they own, popularity follows what the population likes, and
the presets' long-run price elasticities follow their margins."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401  (registers the ids)
from shopgym.agents import TaskInfo, make_policy
from shopgym.demand import decompose_promotion, price_elasticities
from tests.conftest import make_simulator, small_scenario

NO_CHURN = {"churn_min": 0.0, "churn_max": 0.0}


def category_units(promote: bool, n: int = 20_000, visits: int = 8, at: int = 3) -> np.ndarray:
    """[visits] units per shopper bought of one pinned item (a 40 % discount at visit ``at`` when ``promote``)."""
    sim = make_simulator(small_scenario(dynamics=NO_CHURN), n_candidates=1, seed=3)
    state = sim.new_shoppers(n)
    state.wallet[:] = state.budget_cap[:] = 1e6
    item = state.candidates[:, :1].copy()
    units = []
    for visit in range(visits):
        state.candidates[:, :1] = item
        paid = np.full((n, 1), 0.6 if promote and visit == at else 1.0)
        units.append(sim.step(state, np.zeros((n, 1), dtype=np.int64), paid).units.mean())
    return np.array(units)


def test_a_deep_discount_pulls_purchases_forward_and_leaves_a_dip():
    promoted, control = category_units(True), category_units(False)
    assert promoted[3] > 1.5 * control[3]  # the bump
    assert np.all(promoted[4:7] < control[4:7])  # the post-promotion dip: stock at home, a lower reference price
    np.testing.assert_allclose(promoted[:3], control[:3])  # the same shoppers until then


def test_a_promotion_bump_decomposes_into_switching_the_future_and_expansion():
    bump = decompose_promotion("grocery", shoppers=8_000, after=10)
    assert bump.bump > 0
    assert bump.switching > 0 and bump.borrowed > 0 and bump.expansion > 0
    assert bump.switching + bump.borrowed + bump.expansion == pytest.approx(1.0)
    assert 0 < bump.stockpiling < 1  # deep deals sell more units per purchase too
    assert bump.dip_by_visit[0] < 0


def test_the_myopic_oracle_rarely_sells_a_shopper_an_item_twice():
    """Under v0 24-34 % of the myopic oracle's sales were repeats; owned items now lose their appeal."""
    n = 1_000
    envs = gym.make_vec("shopgym/Marketing-v1", num_envs=n, episode_end="fixed", max_episode_steps=50)
    obs, _ = envs.reset(seed=0)
    oracle = make_policy("myopic_oracle", TaskInfo.of(envs))
    bought: list[set[int]] = [set() for _ in range(n)]
    sales = repeats = 0
    for _ in range(50):  # fixed ends, no autoreset inside the 50 visits except after churn
        obs, _, terminated, _, _ = envs.step(oracle.act(obs, batch=envs.batch))
        outcome = envs.batch.last_outcome
        for row in np.flatnonzero(outcome.purchased & ~terminated):
            sales += 1
            repeats += int(outcome.item[row]) in bought[row]
            bought[row].add(int(outcome.item[row]))
        for row in np.flatnonzero(terminated):
            bought[row] = set()
    assert sales > 5_000
    assert repeats / sales < 0.05


def test_popularity_follows_what_the_population_likes():
    """Within candidate sets, an item's popularity correlates with its mean click utility over the shoppers
    (affinity and quality at list price), measured on the shoppers themselves, not on the appeal it was drawn from."""
    envs = gym.make_vec("shopgym/Recommend-v1", num_envs=2_000)
    envs.reset(seed=0)
    sim, state = envs.batch.simulator, envs.batch.state
    catalog, coef = sim.catalog, sim.market.coefficients
    utility = coef.affinity_weight * state.taste @ catalog.embedding.T + catalog.quality  # [shoppers, items]
    population = utility.mean(axis=0)
    candidates = state.candidates[:300]
    correlations = [np.corrcoef(population[row], np.log(catalog.popularity[row]))[0, 1] for row in candidates]
    assert np.nanmean(correlations) >= 0.5


@pytest.mark.parametrize("preset", ["default", "electronics"])
def test_long_run_elasticity_at_list_price_follows_the_margin(preset):
    """Lerner's rule: a profit-maximising list price has |ε| ≈ 1/margin; the presets' β were set to it."""
    result = price_elasticities(preset, shoppers=8_000, visits=30)
    assert result.long_run == pytest.approx(result.lerner, rel=0.3)
    assert result.short_run < result.long_run  # a temporary cut sells more than a permanent one
