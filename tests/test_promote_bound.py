"""The exact bound of the reduced Promote market: the reduction, the DP's consistency with the simulator, its
convergence, and its policy's Monte Carlo return in the env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from shopgym.agents.base import TaskInfo
from shopgym.agents.baselines import NeverDiscountPolicy
from shopgym.agents.evaluation import evaluate
from shopgym.catalog import generate_candidates
from shopgym.envs.batch import ShopperBatch
from shopgym.experiments.promote_bound import main, promote_bound_section
from shopgym.params import ParameterError, Scenario
from shopgym.promote_bound import (
    PromoteBoundPolicy,
    PromoteGrid,
    PromoteModel,
    PromoteSolution,
    _sweep,
    _tables,
    check_reduced,
    item_probabilities,
    promote_reduction,
    solve_promote,
)
from shopgym.scenarios import get_scenario
from shopgym.shoppers import VisitRecord, transition

ENV_ID = "shopgym/Promote-v1"
SMALL = get_scenario("default").replace(catalog={"n_items": 20})
GRID = (11, 6, 101)


def model_of(scenario: Scenario) -> PromoteModel:
    batch = ShopperBatch("promote", 1, scenario=scenario)
    batch.seed(0)
    return PromoteModel.from_batch(batch)


@pytest.fixture(scope="module")
def reduced():
    return promote_reduction(SMALL)


@pytest.fixture(scope="module")
def model(reduced) -> PromoteModel:
    return model_of(reduced)


@pytest.fixture(scope="module")
def solution(model) -> PromoteSolution:
    return solve_promote(model, PromoteGrid.for_model(model, *GRID))


def test_reduction_has_the_stated_properties(reduced):
    base = SMALL
    assert reduced.catalog.n_categories == 1 and reduced.catalog.n_items == base.catalog.n_items
    assert [s.name for s in reduced.segments] == [s.name for s in base.segments]
    for kept, original in zip(reduced.segments, base.segments, strict=True):
        for trait in ("weight", "price_sensitivity", "promo_affinity", "gain_coef", "loss_coef", "engagement0"):
            assert getattr(kept, trait) == getattr(original, trait)
        assert kept.taste_sd == kept.price_sensitivity_sd == kept.promo_affinity_sd == 0.0
        assert kept.reference_coef_sd == kept.reference_price_sd == kept.engagement_sd == 0.0
        assert kept.budget_income == kept.budget_cap == 1e6
    choice, dynamics = reduced.choice, reduced.dynamics
    assert choice.fatigue_weight == choice.inventory_weight == choice.stockpile_rate == choice.repurchase_penalty == 0
    assert dynamics.taste_drift == 0.0 and reduced.drift == ()
    # what the bound is about is kept: engagement, churn, deal response and its wear-out, gain/loss, the reward
    for name in ("engagement_gain_purchase", "churn_max", "churn_power", "wearout_weight", "reference_memory"):
        assert getattr(dynamics, name) == getattr(base.dynamics, name)
    assert choice.deal_threshold == base.choice.deal_threshold and reduced.reward == base.reward


def test_shoppers_of_a_type_are_identical_in_the_reduced_env(reduced):
    batch = ShopperBatch("promote", 3000, scenario=reduced)
    batch.seed(1)
    batch.reset()
    state = batch.state
    for t in range(len(reduced.segments)):
        rows = state.segment == t
        for field in ("taste", "price_sensitivity", "gain_coef", "reference_price", "engagement", "wallet"):
            values = getattr(state, field)[rows]
            assert np.all(values == values[0]), field


def test_a_market_that_is_not_reduced_is_refused():
    batch = ShopperBatch("promote", 1, scenario=SMALL)
    batch.seed(0)
    with pytest.raises(ParameterError, match=r"catalog.n_categories = 8 \(needs 1\)"):
        PromoteModel.from_batch(batch)
    reduced = promote_reduction(SMALL)
    spread = reduced.replace(segments=[reduced.segments[0].model_copy(update={"engagement_sd": 0.1}).model_dump()])
    with pytest.raises(ParameterError, match=r"segments.0.engagement_sd = 0.1"):
        check_reduced(spread, batch.simulator.catalog)
    examined = reduced.replace(dynamics={"unexamined_price_weight": 0.0})  # ρ would depend on the click
    with pytest.raises(ParameterError, match=r"dynamics.unexamined_price_weight = 0.0 \(needs 1\)"):
        check_reduced(examined, batch.simulator.catalog)
    assert (
        promote_reduction(SMALL.replace(dynamics={"unexamined_price_weight": 0.0})).dynamics.unexamined_price_weight
        == 1
    )


def test_item_probabilities_match_the_candidate_generator(model, reduced):
    n = 400_000
    weights = np.ones((n, 1))
    drawn = generate_candidates(np.random.default_rng(3), model.catalog, weights, 1, reduced.retrieval)[:, 0]
    p = item_probabilities(model.catalog, reduced.retrieval.popularity_skew)
    assert p.sum() == pytest.approx(1.0)
    frequency = np.bincount(drawn, minlength=p.size) / n
    assert np.all(np.abs(frequency - p) <= 4 * np.sqrt(p * (1 - p) / n))


def test_next_states_match_the_simulators_transition(model):
    n_levels = model.levels.size
    for o, (clicked, bought) in enumerate(((0, 0), (1, 0), (1, 1))):
        state = model.rows(0, n_levels)
        state.reference_price[:] = 0.83
        state.deal_wear[:], state.engagement[:] = 0.37, 0.42
        items = np.full((n_levels, 1), 3)
        units = np.full(n_levels, bought)
        record = VisitRecord(items, model.levels[:, None], np.full(n_levels, 3 if clicked else -1), units, units * 1.0)
        hazard = transition(state, model.catalog, model.coef, record)
        rho, wear, e, survive = model.next_states(np.array([0.83]), np.array([0.37]), np.array([0.42]))
        np.testing.assert_allclose(state.reference_price[:, 0], rho[0])
        np.testing.assert_allclose(state.deal_wear, wear[0])
        np.testing.assert_allclose(state.engagement, e[0, o])
        np.testing.assert_allclose(1 - hazard, survive[0, o])


def test_grid_tables_give_the_simulators_expected_reward(model, solution):
    """The tabulated Bellman operator with no future equals the myopic value computed directly from
    visit_utilities and the choice model for every item, at grid states."""
    grid = solution.grid
    tables = _tables(model, 1, grid)
    zero = np.zeros((3, grid.rho.size, model.levels.size, grid.wear.size, grid.engagement.size))
    table_value, _ = _sweep(tables, zero, model.item_probability)
    n_items = model.catalog.n_items
    for r, w, e in ((0, 0, 50), (grid.rho.size - 1, 3, 60), (4, grid.wear.size - 1, 97)):
        state = model.rows(1, n_items)
        state.reference_price[:] = grid.rho[r]
        state.deal_wear[:], state.engagement[:] = grid.wear[w], grid.engagement[e]
        direct = solution.q_values(state, np.arange(n_items), lookahead=False).max(axis=1) @ model.item_probability
        assert table_value[r, w, e] == pytest.approx(direct, rel=1e-5)


def test_value_iteration_converges_under_grid_refinement():
    bargain_hunters = promote_reduction(SMALL.replace(segments=[SMALL.segments[1].model_dump()]))  # they take deals
    model = model_of(bargain_hunters)
    values = [solve_promote(model, PromoteGrid.for_model(model, *grid)) for grid in ((6, 3, 101), GRID, (21, 11, 101))]
    coarse, middle, fine = (float(solution.v_star[0]) for solution in values)
    assert abs(middle - fine) <= 1e-3 * fine
    assert abs(middle - fine) < abs(coarse - fine)
    assert np.all(values[-1].error_bound <= 1e-3 * fine)
    # the engagement grid of step 0.01 holds every reachable e exactly: refining it changes nothing
    exact_e = solve_promote(model, PromoteGrid.for_model(model, GRID[0], GRID[1], 201))
    np.testing.assert_allclose(exact_e.v_star, values[1].v_star, rtol=1e-5)


def test_v_star_bounds_never_discount_and_the_myopic_policy(solution):
    slack = solution.error_bound[:, None, None, None]
    assert np.all(solution.values >= solution.never_discount - slack)
    assert np.all(solution.values >= solution.myopic - slack)
    for reference in (solution.never_discount, solution.myopic):
        assert solution.overall(solution.values) >= solution.overall(reference)


def test_monte_carlo_of_the_dp_policy_matches_v_star(model, reduced, solution):
    envs = gym.make_vec(ENV_ID, num_envs=1, scenario=reduced)
    info = TaskInfo.of(envs)
    n = 3000
    for policy, value in (
        (PromoteBoundPolicy(info, solution), solution.values),
        (NeverDiscountPolicy(info), solution.never_discount),
    ):
        returns = evaluate(policy, ENV_ID, n_shoppers=n, seed=5, scenario=reduced).returns
        error = returns.std(ddof=1) / np.sqrt(n)
        assert abs(returns.mean() - solution.overall(value)) <= 4 * error, policy.name


def test_the_dp_policy_needs_the_batch_of_its_own_market(reduced, solution):
    envs = gym.make_vec(ENV_ID, num_envs=2, scenario=reduced)
    obs, _ = envs.reset(seed=0)
    policy = PromoteBoundPolicy(TaskInfo.of(envs), solution)
    with pytest.raises(ValueError, match="reads the hidden state"):
        policy.act(obs)
    other = gym.make_vec(ENV_ID, num_envs=2, scenario=promote_reduction(SMALL.replace(catalog={"n_items": 21})))
    obs, _ = other.reset(seed=0)
    with pytest.raises(ValueError, match="was solved for the market"):
        policy.act(obs, batch=other.batch)


def test_section_reports_every_policy_as_a_fraction_of_v_star():
    lines = promote_bound_section(SMALL, ppo_steps=1, n_shoppers=100, seed=0, grid=(6, 3, 101))
    text = "\n".join(lines)
    assert lines[0] == "## Promote-v1 (reduced): how far from optimal?"
    for label in ("mainstream", "all (weighted)", "Monte Carlo check", "never discount", "MyopicOracle", "PPO ("):
        assert label in text
    assert text.count("% |") >= 5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--shoppers", "0"], "--shoppers = 0 is not an integer in the allowed range [1, ∞)"),
        (["--grid", "26", "1", "101"], "--grid WEAR = 1 is not an integer in the allowed range [2, ∞)"),
        (["--scenario", "nope"], "unknown scenario 'nope'"),
    ],
)
def test_bad_arguments_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error and not error.startswith("usage")
