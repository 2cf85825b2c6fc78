"""An exact full-information upper bound for a reduced ``Promote-v1`` market, by dynamic programming.

**The reduced market** (:func:`promote_reduction`) keeps what a discount decision trades off and drops the state
that would make the optimum incomputable:

* one category (so one reference price ρ), the scenario's catalog size, prices, margins, qualities and popularity;
* every segment kept as one *shopper type*: its mean traits with no individual spread (taste, β, promotion
  affinity, η⁺, η⁻, ρ₀ and e₀ spreads all 0), so a type is a segment and a new shopper is of type t with
  probability its weight;
* no budget limit (income and cap 10⁶), no stock effect (inventory weight ψ = 0, stockpiling 0: one unit per
  purchase), no fatigue (κ = 0), no repurchase penalty, no taste drift, no drift of the market;
* kept: the price in the click and purchase utilities, the gain/loss against ρ, the deal response with its
  wear-out w, engagement dynamics and churn, and the geometric episode ends of ``Promote-v1``.

**State and Bellman equation.** A shopper of type t is then fully described by (ρ, e, w): reference price,
engagement and deal wear. Each visit the platform proposes one item i, drawn i.i.d. from the candidate generator's
law (one category: ``P(i) = ((i + 1)/n)^(1/ν) − (i/n)^(1/ν)`` for the i-th most popular of n items, ν the
popularity skew, :func:`item_probabilities`). The policy sees (ρ, e, w) *and* i before it picks the discount level
a — more than any policy of the env sees, so its value bounds theirs from above. With c = 1 − 1/H the probability
that the episode goes on (geometric ends, mean H visits) the problem is stationary:

``V(s) = Σ_i P(i) max_a [ r(s, i, a) + c·Σ_o P(o | s, i, a)·(1 − h(e'_o))·V(ρ'_a, e'_o, w'_a) ]``

over the outcomes o = no click, click without purchase, purchase. Everything is the simulator's own: utilities from
:func:`shopgym.choice.visit_utilities`, P(o) and expected units from the batch's choice model
(``probabilities``), the expected reward from the batch's reward function on
:func:`shopgym.reward.expected_components` of each outcome (exact for rewards linear in the components, as every
built-in kind is), e'_o from :func:`shopgym.shoppers.engagement_after`, h from :func:`~shopgym.shoppers.churn_hazard`,
ρ'_a from :func:`~shopgym.shoppers.reference_update`, and w'_a = m·w + (1 − m)·1[x_a < 1] from
:func:`~shopgym.shoppers.wear_update`. The env's safety cap on episode length is ignored (reached with probability
≈ 2e−9).

**Solver.** V lives on a grid with multilinear interpolation: ρ between the lowest and the highest of the paid
fractions and the types' ρ₀ (default 26 points, a step of 0.02 on [0.5, 1]), w on [0, 1] (11 points) and e on
[0, 1] (101 points, which hold every reachable e exactly when e₀ and the engagement steps are multiples of 0.01, as
in every preset). The expectation over items is exact: every item of the catalog, no binning. Per type, P(click |
ρ, w, e, i, a) is tabulated once (float32; the choice model is called on the click stage alone); a Bellman sweep is
then a few float32 array passes over states × items × levels. Policy iteration starts from the myopic policy (its
exact value, and that of never discounting, are by-products); each sweep's greedy policy is evaluated exactly on
the grid (GMRES on its linear system) until the sweep's Bellman residual δ is at most ``tolerance``·max |V|; then
``|V − V*_grid| ≤ δ/(1 − c)``. The grid's own error is measured by refining it (``tests/test_promote_bound.py``:
halving the ρ and w steps moves V* by less than 0.1 %).

:class:`PromoteBoundPolicy` plays the optimum in the env: at the shopper's actual (ρ, e, w), read from the batch's
hidden state, and actual item, it takes the level maximising the one-visit reward plus the continuation value
interpolated in V.

(Longer than the house's 350 lines because the reduction, the tables, the solver and the policy that plays it share
one grid and one model object; split, each part would import the others' internals.)
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import LinearOperator, gmres

from shopgym.agents.base import BasePolicy, TaskInfo
from shopgym.catalog import Catalog
from shopgym.choice import ChoiceModel, VisitUtilities, visit_utilities
from shopgym.envs.batch import ShopperBatch
from shopgym.market import Coefficients, Market, SegmentTable
from shopgym.params import ParameterError, Scenario, clip
from shopgym.reward import RewardFunction, expected_components
from shopgym.scenarios import resolve_scenario
from shopgym.shoppers import (
    ShopperState,
    churn_hazard,
    engagement_after,
    reference_update,
    sample_shoppers,
    wear_update,
)
from shopgym.tasks import Promote

__all__ = [
    "PromoteBoundPolicy",
    "PromoteGrid",
    "PromoteModel",
    "PromoteSolution",
    "check_reduced",
    "item_probabilities",
    "promote_reduction",
    "solve_promote",
]

#: Budget income and cap of the reduction: the most the parameters allow, so no wallet ever binds.
NO_BUDGET_LIMIT = 1e6
#: Outcomes of a visit, in the order of every outcome axis: (clicked, bought).
OUTCOMES = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
_SPREADS = (
    "taste_sd",
    "price_sensitivity_sd",
    "promo_affinity_sd",
    "reference_coef_sd",
    "reference_price_sd",
    "engagement_sd",
)
_OFF = {
    "choice": ("fatigue_weight", "inventory_weight", "stockpile_rate", "repurchase_penalty"),
    "dynamics": ("taste_drift",),
}


def promote_reduction(scenario: str | Scenario = "default") -> Scenario:
    """The reduced Promote market of ``scenario`` (see the module docstring): one category, every segment a shopper
    type without spread, no budget limit, no routine lines, no trial shoppers, no stock, fatigue, repurchase
    penalty, taste drift or market drift, and every shown price forming the reference (ν = 1)."""
    base = resolve_scenario(scenario)
    no_spread = dict.fromkeys(_SPREADS, 0.0)
    segments = [
        s.model_copy(
            update={
                **no_spread,
                "budget_income": NO_BUDGET_LIMIT,
                "budget_cap": NO_BUDGET_LIMIT,
                "routine_purchase": 0.0,
                "first_visit_churn": 0.0,
            }
        ).model_dump()
        for s in base.segments
    ]
    return base.replace(
        name=f"{base.name}-promote-bound"[-64:],
        description=f"{base.name} reduced for the exact Promote bound (shopgym.promote_bound)",
        catalog={"n_categories": 1},
        segments=segments,
        choice=dict.fromkeys(_OFF["choice"], 0.0),
        dynamics=dict.fromkeys(_OFF["dynamics"], 0.0) | {"unexamined_price_weight": 1.0},
        drift=[],
    )


def check_reduced(scenario: Scenario, catalog: Catalog) -> None:
    """Raise :class:`ParameterError` naming the first field of ``scenario`` that the reduction fixes but that
    differs here (the DP would then not be exact)."""
    wrong: list[str] = []
    if scenario.catalog.n_categories != 1:
        wrong.append(f"catalog.n_categories = {scenario.catalog.n_categories} (needs 1)")
    for section, names in _OFF.items():
        wrong += [
            f"{section}.{name} = {getattr(getattr(scenario, section), name)!r} (needs 0)"
            for name in names
            if getattr(getattr(scenario, section), name) != 0.0
        ]
    if scenario.dynamics.unexamined_price_weight != 1.0:  # ρ would then depend on the click, which the grid does not
        wrong.append(f"dynamics.unexamined_price_weight = {scenario.dynamics.unexamined_price_weight!r} (needs 1)")
    top = float(catalog.price.max())
    for index, s in enumerate(scenario.segments):
        wrong += [
            f"segments.{index}.{name} = {getattr(s, name)!r} (needs 0)"
            for name in (*_SPREADS, "routine_purchase", "first_visit_churn")
            if getattr(s, name)
        ]
        if min(s.budget_income, s.budget_cap) < top:
            wrong.append(
                f"segments.{index}.budget_income/cap = {min(s.budget_income, s.budget_cap)!r} (needs ≥ {top:.4g})"
            )
    if scenario.drift:
        wrong.append(f"drift = {clip(repr(scenario.drift))} (needs none)")
    if wrong:
        raise ParameterError(
            f"scenario {scenario.name!r} is not a Promote reduction: {wrong[0]}; build it with promote_reduction()"
        )


def item_probabilities(catalog: Catalog, skew: float) -> np.ndarray:
    """[n] probability that the candidate generator proposes each item of a one-category catalog (K = 1): the
    anchor rank ⌊U^ν·n⌋ of :func:`shopgym.catalog.generate_candidates` with U uniform on [0, 1) and ν = ``skew``.
    (The generator draws U in float32; the law differs from this one by less than 1e−6.)"""
    edges = (np.arange(catalog.n_items + 1) / catalog.n_items) ** (1.0 / skew)
    return np.diff(edges)


def _linear(grid: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower index, weight of the upper neighbour) of linear interpolation of ``x`` on ``grid``, clamped to it."""
    low = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    weight = np.clip((x - grid[low]) / (grid[low + 1] - grid[low]), 0.0, 1.0)
    return low, weight


@dataclass(frozen=True, eq=False)
class PromoteGrid:
    """The DP's state grid: reference price ρ [R], deal wear w [W], engagement e [E] (each ≥ 2 points)."""

    rho: np.ndarray
    wear: np.ndarray
    engagement: np.ndarray

    @classmethod
    def uniform(cls, rho_range: tuple[float, float], rho: int, wear: int, engagement: int) -> PromoteGrid:
        """Uniform grids with the given numbers of points (ρ on ``rho_range``, w and e on [0, 1])."""
        if min(rho, wear, engagement) < 2:
            raise ValueError(f"grid sizes must be at least 2, got ρ {rho}, w {wear}, e {engagement}")
        return cls(np.linspace(*rho_range, rho), np.linspace(0.0, 1.0, wear), np.linspace(0.0, 1.0, engagement))

    @classmethod
    def for_model(cls, model: PromoteModel, rho: int = 26, wear: int = 11, engagement: int = 101) -> PromoteGrid:
        """The default grid of ``model``: ρ over every value it can reach (between the lowest and the highest of the
        paid fractions and the types' ρ₀), w and e over [0, 1]. With e's steps multiples of 0.01 (the defaults) and
        e₀ on the grid, 101 engagement points hold every reachable e exactly."""
        starts = [model.initial_state(t)[0] for t in range(len(model.names))]
        low, high = min(*starts, float(model.levels.min())), max(*starts, float(model.levels.max()))
        return cls.uniform((low, high), rho, wear, engagement)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.rho.size, self.wear.size, self.engagement.size

    def interpolate(self, values: np.ndarray, rho: np.ndarray, wear: np.ndarray, engagement: np.ndarray) -> np.ndarray:
        """``values`` [R, W, E] interpolated multilinearly at the points (``rho``, ``wear``, ``engagement``)."""
        points = np.broadcast_arrays(rho, wear, engagement)
        corners = [_linear(g, x) for g, x in zip((self.rho, self.wear, self.engagement), points, strict=True)]
        total = np.zeros(points[0].shape)
        for corner in np.ndindex(2, 2, 2):
            index, weight = [], np.ones(points[0].shape)
            for (low, upper), step in zip(corners, corner, strict=True):
                index.append(low + step)
                weight = weight * (upper if step else 1.0 - upper)
            total += weight * values[tuple(index)]
        return total


@dataclass(frozen=True, eq=False)
class PromoteModel:
    """The reduced market as a seeded ``promote`` batch runs it: catalog, coefficients, choice model, reward, levels,
    the item law and the shopper types."""

    scenario: Scenario
    catalog: Catalog
    coef: Coefficients
    choice_model: ChoiceModel
    reward_fn: RewardFunction
    levels: np.ndarray  #: [A] paid fractions
    list_level: int  #: the level that charges list price
    continuation: float  #: c = 1 − 1/H
    item_probability: np.ndarray  #: [I]
    names: tuple[str, ...]  #: [T] segment names
    weights: np.ndarray  #: [T] segment weights
    templates: tuple[ShopperState, ...]  #: one shopper of each type, as new

    @classmethod
    def from_batch(cls, batch: ShopperBatch) -> PromoteModel:
        """Read the model off a seeded ``promote`` batch with geometric ends on a :func:`promote_reduction`."""
        if not isinstance(batch.task, Promote) or batch.episode_end != "geometric":
            raise ValueError(f"the bound solves the promote task with geometric ends, not {batch.task.name!r}")
        sim = batch.simulator
        check_reduced(batch.scenario, sim.catalog)
        segments = sim.market.segments
        templates = tuple(
            sample_shoppers(np.random.default_rng(0), _one_segment(sim.market, t), 1, 1, 1)
            for t in range(segments.weight.size)
        )
        return cls(
            scenario=batch.scenario,
            catalog=sim.catalog,
            coef=sim.market.coefficients,
            choice_model=sim.choice_model,
            reward_fn=sim.reward_fn,
            levels=batch.task.paid_levels,
            list_level=batch.task.list_price_level,
            continuation=1.0 - batch.end_probability,
            item_probability=item_probabilities(sim.catalog, batch.scenario.retrieval.popularity_skew),
            names=tuple(s.name for s in batch.scenario.segments),
            weights=segments.weight.copy(),
            templates=templates,
        )

    def initial_state(self, t: int) -> tuple[float, float, float]:
        """(ρ₀, w₀, e₀) of a new shopper of type ``t`` (the grid's order)."""
        template = self.templates[t]
        return float(template.reference_price[0, 0]), float(template.deal_wear[0]), float(template.engagement[0])

    def rows(self, t: int, n: int) -> ShopperState:
        """``n`` copies of type ``t``'s new shopper."""
        template = self.templates[t]
        return ShopperState(
            **{f.name: np.repeat(getattr(template, f.name), n, axis=0) for f in dataclasses.fields(template)}
        )

    def next_states(
        self, rho: np.ndarray, wear: np.ndarray, engagement: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """After a visit at each level: ρ' [..., A] and w' [..., A]; after each outcome: e' [..., 3] and the
        probability 1 − h(e') [..., 3] of not churning."""
        rho_next = reference_update(rho[..., None], self.levels, self.coef.reference_memory)
        wear_next = wear_update(wear[..., None], self.levels < 1.0, self.coef.wearout_memory)
        clicked, bought = (np.array(column) for column in zip(*OUTCOMES, strict=True))
        e_next = engagement_after(engagement[..., None], self.coef, clicked, bought)
        return rho_next, wear_next, e_next, 1.0 - churn_hazard(e_next, self.coef)

    def outcome_rewards(
        self, units: np.ndarray, churn: list[np.ndarray], price: np.ndarray, cost: np.ndarray, paid: np.ndarray
    ) -> list[np.ndarray]:
        """Expected reward of each outcome (no click, click, purchase): the reward function on the components of
        that outcome, with ``units`` the expected units of a purchase and ``churn[o]`` the churn probability after
        outcome o; every array broadcasts with the others, and so do the results."""
        shape = np.broadcast_shapes(*(np.shape(x) for x in (units, *churn, price, cost, paid)))
        return [
            np.broadcast_to(self.reward_fn(expected_components(clicked, bought, units, h, price, cost, paid)), shape)
            for (clicked, bought), h in zip(OUTCOMES, churn, strict=True)
        ]

    def probabilities(self, state: ShopperState, items: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(click) [N, A], P(buy | click) [N, A] and expected units of a purchase [N, A] of showing ``items`` [N]
        alone at each level to the shoppers of ``state``."""
        n, n_levels = state.n, self.levels.size
        rows = state.take(np.repeat(np.arange(n), n_levels))
        paid = np.tile(self.levels, n)[:, None]
        utilities = visit_utilities(rows, self.catalog, self.coef, np.repeat(items, n_levels)[:, None], paid)
        p = self.choice_model.probabilities(utilities)
        click, buy = p.click[:, 1], p.buy[:, 0]
        given = np.divide(buy, click, out=np.zeros_like(buy), where=click > 0)
        return click.reshape(n, n_levels), given.reshape(n, n_levels), p.units[:, 0].reshape(n, n_levels)


def _one_segment(market: Market, t: int) -> Market:
    """The market with segment ``t`` only."""
    table = SegmentTable(
        **{f.name: getattr(market.segments, f.name)[t : t + 1] for f in dataclasses.fields(SegmentTable)}
    )
    return dataclasses.replace(market, segments=dataclasses.replace(table, weight=np.ones(1)))


@dataclass(frozen=True, eq=False)
class _Tables:
    """One type's tables on the grid, levels before states: P(click) [R, A, W, E, I] (float32), P(buy | click)
    [R, A, I], and the rewards of the outcomes no click and click [A, E, I] and purchase [R, A, E, I]."""

    click: np.ndarray
    buy: np.ndarray
    none_reward: np.ndarray
    click_reward: np.ndarray
    buy_reward: np.ndarray


@dataclass(frozen=True, eq=False)
class _Plan:
    """Where each grid state goes: interpolation indices and weights of ρ'_a [R, A], w'_a [A, W] and e'_o [3, E],
    and c·(1 − h(e'_o)) [3, E]."""

    rho: tuple[np.ndarray, np.ndarray]
    wear: tuple[np.ndarray, np.ndarray]
    engagement: tuple[np.ndarray, np.ndarray]
    factor: np.ndarray

    @classmethod
    def of(cls, model: PromoteModel, grid: PromoteGrid) -> _Plan:
        rho_next, wear_next, e_next, survive = model.next_states(grid.rho, grid.wear, grid.engagement)
        return cls(
            rho=_linear(grid.rho, rho_next),
            wear=_linear(grid.wear, wear_next.T),
            engagement=_linear(grid.engagement, e_next.T),
            factor=model.continuation * survive.T,
        )

    def continuation(self, values: np.ndarray) -> np.ndarray:
        """[3, R, A, W, E]: c·(1 − h(e'_o))·V(ρ'_a, w'_a, e'_o) for V = ``values`` [R, W, E]."""
        (r_low, r_w), (w_low, w_w), (e_low, e_w) = self.rho, self.wear, self.engagement
        along_rho = values[r_low] * (1.0 - r_w)[..., None, None] + values[r_low + 1] * r_w[..., None, None]
        index = np.broadcast_to(w_low[None, :, :, None], along_rho.shape)
        w_w = w_w[None, :, :, None]
        along_wear = np.take_along_axis(along_rho, index, 2) * (1.0 - w_w)
        along_wear += np.take_along_axis(along_rho, index + 1, 2) * w_w
        along_e = along_wear[..., e_low] * (1.0 - e_w) + along_wear[..., e_low + 1] * e_w  # [R, A, W, 3, E]
        return np.moveaxis(along_e, 3, 0) * self.factor[:, None, None, None, :]


def _tables(model: PromoteModel, t: int, grid: PromoteGrid) -> _Tables:
    """Type ``t``'s probabilities and outcome rewards on ``grid``, from the simulator's utilities and choice model."""
    n_r, n_w, n_e = grid.shape
    n_a, n_i = model.levels.size, model.catalog.n_items
    items = np.arange(n_i)
    outside_rows = model.rows(t, n_e)
    outside_rows.engagement = grid.engagement.copy()
    outside = visit_utilities(outside_rows, model.catalog, model.coef, np.zeros((n_e, 1), np.int64), np.ones((n_e, 1)))
    outside = outside.outside.astype(np.float32)
    rows = model.rows(t, n_a * n_w * n_i)  # row (a, w, i)
    rows.deal_wear = np.repeat(np.tile(grid.wear, n_a), n_i)
    shown, paid = np.tile(items, n_a * n_w)[:, None], np.repeat(model.levels, n_w * n_i)[:, None]
    alone = model.rows(t, n_i)  # P(buy | click) and the units depend on neither w nor e: read them at w₀, e = 1
    alone.engagement[:] = grid.engagement[-1]
    full, n = (n_a, n_w, n_e, n_i), n_a * n_w * n_e * n_i
    click = np.empty((n_r, *full), dtype=np.float32)
    buy, units = np.empty((n_r, n_a, n_i)), np.empty((n_r, n_a, n_i))
    for r, rho in enumerate(grid.rho):
        alone.reference_price[:] = rho
        _, given, bought = model.probabilities(alone, items)
        buy[r], units[r] = given.T, bought.T
        rows.reference_price[:] = rho
        u = visit_utilities(rows, model.catalog, model.coef, shown, paid)
        # P(click) on every (w, e) in float32, the table's precision: the click stage reads the click and outside
        # utilities only, so the purchase side of this call is a placeholder (one unit, no purchase utility)
        p = model.choice_model.probabilities(
            VisitUtilities(
                click=np.broadcast_to(u.click.astype(np.float32).reshape(n_a, n_w, 1, n_i), full).reshape(n, 1),
                outside=np.broadcast_to(outside[None, None, :, None], full).reshape(n),
                purchase=np.zeros((n, 1), np.float32),
                nest=np.zeros((n, 1), np.int64),
                extra_units=np.zeros((n, 1), np.float32),
                max_units=np.ones((n, 1), np.int64),
                category_nest=u.category_nest,
                slate_nest=u.slate_nest,
                n_nests=u.n_nests,
            )
        )
        click[r] = p.click[:, 1].reshape(full)
    _, _, _, survive = model.next_states(grid.rho[:1], grid.wear[:1], grid.engagement)
    churn = [(1.0 - survive[:, o])[:, None] for o in range(len(OUTCOMES))]  # [E, 1]
    catalog = model.catalog
    none, clicked, bought = model.outcome_rewards(
        units[:, :, None, :], churn, catalog.price, catalog.cost, model.levels[:, None, None]
    )  # [R, A, E, I]
    return _Tables(click, buy, none[0], clicked[0], bought)


def _sweep(tables: _Tables, continuation: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Bellman sweep: (Σ_i P(i)·max_a Q [R, W, E], the greedy level [R, W, E, I]) given the continuation terms
    [3, R, A, W, E] of the current V."""
    n_r, _, n_w, n_e, n_i = tables.click.shape
    values, greedy = np.empty((n_r, n_w, n_e)), np.empty((n_r, n_w, n_e, n_i), dtype=np.int8)
    single = np.float32  # the click table's precision, and twice as fast
    none_r, click_r = (x.astype(single)[:, None] for x in (tables.none_reward, tables.click_reward))  # [A, 1, E, I]
    continuation, prob = continuation.astype(single), prob.astype(single)
    for r in range(n_r):
        t_none, t_click, t_buy = (continuation[o, r][..., None] for o in range(3))  # [A, W, E, 1]
        q = tables.buy_reward[r].astype(single)[:, None] - click_r + (t_buy - t_click)
        q *= tables.buy[r].astype(single)[:, None, None, :]
        q += click_r - none_r + (t_click - t_none)
        q *= tables.click[r]
        q += none_r + t_none
        greedy[r] = q.argmax(axis=0)
        values[r] = q.max(axis=0) @ prob
    return values, greedy


def _policy_terms(tables: _Tables, levels: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the policy playing ``levels`` [R, W, E, I]: the expected reward of a visit [R, W, E] and the probability
    [3, R, A, W, E] that it plays level a and the outcome is o."""
    n_r, n_a, n_w, n_e, _ = tables.click.shape
    reward, weight = np.zeros((n_r, n_w, n_e)), np.zeros((3, n_r, n_a, n_w, n_e))
    for r, a in np.ndindex(n_r, n_a):
        on = (levels[r] == a) * prob  # [W, E, I]
        click = on * tables.click[r, a]
        buy = click * tables.buy[r, a]
        shown, clicks, buys = on.sum(axis=-1), click.sum(axis=-1), buy.sum(axis=-1)
        weight[:, r, a] = shown - clicks, clicks - buys, buys
        none_r, click_r = tables.none_reward[a], tables.click_reward[a]  # [E, I]
        reward[r] += (on * none_r).sum(-1) + (click * (click_r - none_r)).sum(-1)
        reward[r] += (buy * (tables.buy_reward[r, a] - click_r)).sum(-1)
    return reward, weight


def _evaluate(plan: _Plan, reward: np.ndarray, weight: np.ndarray, guess: np.ndarray | None = None) -> np.ndarray:
    """The value [R, W, E] of the policy with these terms (:func:`_policy_terms`) on the grid: the solution of
    V = reward + Σ_{o,a} weight·continuation(V), by GMRES from ``guess`` (default: the reward)."""
    shape, size = reward.shape, reward.size

    def apply(v: np.ndarray) -> np.ndarray:
        values = v.reshape(shape)
        return v - (weight * plan.continuation(values)).sum(axis=(0, 2)).ravel()

    operator = LinearOperator((size, size), matvec=apply, dtype=np.float64)
    start = reward if guess is None else guess
    solution, info = gmres(operator, reward.ravel(), x0=start.ravel(), rtol=1e-13, atol=0.0, restart=50, maxiter=200)
    if info != 0:
        raise RuntimeError(f"policy evaluation did not converge (GMRES info {info})")
    return solution.reshape(shape)


@dataclass(frozen=True, eq=False)
class PromoteSolution:
    """The DP's result: on the grid, per type, the optimal value V* and the exact values of never discounting and of
    the myopic policy, [T, R, W, E]; the solver's bound on |V − V*_grid| and its time per type."""

    model: PromoteModel
    grid: PromoteGrid
    values: np.ndarray
    never_discount: np.ndarray
    myopic: np.ndarray
    error_bound: np.ndarray  #: [T] δ/(1 − c), δ the last Bellman residual
    seconds: np.ndarray  #: [T] solve time (tables, the two reference policies and policy iteration)
    rounds: np.ndarray  #: [T] policy-iteration rounds

    def at_start(self, values: np.ndarray) -> np.ndarray:
        """[T] ``values`` [T, R, W, E] at each type's initial state."""
        return np.array(
            [self.grid.interpolate(v, *map(np.asarray, self.model.initial_state(t))) for t, v in enumerate(values)]
        )

    @property
    def v_star(self) -> np.ndarray:
        """[T] optimal expected return of a new shopper of each type."""
        return self.at_start(self.values)

    def overall(self, values: np.ndarray) -> float:
        """The return of a new shopper of unknown type: ``values`` [T, R, W, E] at the initial states, weighted."""
        return float(self.model.weights @ self.at_start(values))

    def q_values(self, state: ShopperState, items: np.ndarray, lookahead: bool = True) -> np.ndarray:
        """[N, A] expected return of each level for the shoppers of ``state`` shown ``items`` [N]: the visit's
        expected reward plus (with ``lookahead``) the continuation value interpolated in V."""
        model = self.model
        click, given, units = model.probabilities(state, items)
        rho_next, wear_next, e_next, survive = model.next_states(
            state.reference_price[:, 0], state.deal_wear, state.engagement
        )
        churn = [1.0 - survive[:, o : o + 1] for o in range(len(OUTCOMES))]
        rewards = model.outcome_rewards(
            units, churn, model.catalog.price[items, None], model.catalog.cost[items, None], model.levels
        )
        chance = (1.0 - click, click * (1.0 - given), click * given)
        q = np.zeros(click.shape)
        for o in range(len(OUTCOMES)):
            future = np.zeros(click.shape)
            for t in np.unique(state.segment) if lookahead else ():
                rows = state.segment == t
                future[rows] = self.grid.interpolate(
                    self.values[t], rho_next[rows], wear_next[rows], e_next[rows, o : o + 1]
                )
            q += chance[o] * (rewards[o] + model.continuation * survive[:, o : o + 1] * future)
        return q

    def act(self, state: ShopperState, items: np.ndarray, lookahead: bool = True) -> np.ndarray:
        """[N] the optimal level index for each shopper of ``state`` shown ``items`` [N] (without ``lookahead``: the
        myopic one, the highest expected reward of this visit)."""
        return np.argmax(self.q_values(state, items, lookahead), axis=1)


def solve_promote(
    model: PromoteModel, grid: PromoteGrid | None = None, tolerance: float = 1e-5, max_rounds: int = 50
) -> PromoteSolution:
    """Policy iteration per shopper type on ``grid`` (default :meth:`PromoteGrid.for_model`; see the module
    docstring), from the myopic policy, until the Bellman residual is at most ``tolerance`` × max |V|."""
    grid = PromoteGrid.for_model(model) if grid is None else grid
    plan = _Plan.of(model, grid)
    solved = [_solve_type(model, t, grid, plan, tolerance, max_rounds) for t in range(len(model.names))]
    values, never, myopic, bound, seconds, rounds = (np.array(column) for column in zip(*solved, strict=True))
    return PromoteSolution(model, grid, values, never, myopic, bound, seconds, rounds)


def _solve_type(
    model: PromoteModel, t: int, grid: PromoteGrid, plan: _Plan, tolerance: float, max_rounds: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, int]:
    """(V*, V of never discounting, V of the myopic policy, the error bound, seconds, rounds) of type ``t``."""
    start, prob = time.perf_counter(), model.item_probability
    tables = _tables(model, t, grid)
    _, myopic_levels = _sweep(tables, np.zeros((3, grid.rho.size, model.levels.size, *grid.shape[1:])), prob)
    myopic = _evaluate(plan, *_policy_terms(tables, myopic_levels, prob))
    never = _evaluate(plan, *_policy_terms(tables, np.full_like(myopic_levels, model.list_level), prob))
    values, rounds = myopic, 0
    while True:
        rounds += 1
        improved, greedy = _sweep(tables, plan.continuation(values), prob)
        residual = float(np.abs(improved - values).max())
        if residual <= tolerance * max(float(np.abs(improved).max()), 1.0):
            break
        if rounds == max_rounds:
            raise RuntimeError(f"policy iteration did not converge in {max_rounds} rounds (residual {residual:.3g})")
        values = _evaluate(plan, *_policy_terms(tables, greedy, prob), guess=improved)
    return values, never, myopic, residual / (1.0 - model.continuation), time.perf_counter() - start, rounds


class PromoteBoundPolicy(BasePolicy):
    """Plays the DP optimum of a :class:`PromoteSolution` in the env of its reduced market, reading each shopper's
    (ρ, e, w), type and proposed item from the env's batch: ``act(obs, batch=envs.batch)``. With ``myopic`` it plays
    the model's one-visit optimum instead (the exact myopic policy)."""

    name = "promote_bound"
    requires = ("chooses_level",)

    def __init__(
        self, info: TaskInfo, solution: PromoteSolution, seed: int | None = None, myopic: bool = False
    ) -> None:
        super().__init__(info, seed)
        self.solution, self.myopic = solution, myopic
        self.name = "promote_myopic" if myopic else self.name
        self.params = {"grid": list(solution.grid.shape), "v_star": solution.overall(solution.values), "myopic": myopic}

    @classmethod
    def solve(cls, batch: ShopperBatch, grid: PromoteGrid | None = None) -> PromoteBoundPolicy:
        """Solve the seeded reduced ``batch``'s market and wrap the solution."""
        return cls(TaskInfo(batch.task, batch.horizon), solve_promote(PromoteModel.from_batch(batch), grid))

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        if batch is None or batch.state is None:
            raise ValueError(f"{self.name} reads the hidden state: call act(obs, batch=<the env's ShopperBatch>)")
        model = self.solution.model
        if batch.scenario != model.scenario or not np.array_equal(batch.simulator.catalog.price, model.catalog.price):
            raise ValueError(f"{self.name} was solved for the market {model.scenario.name!r}, not this batch's")
        levels = self.solution.act(batch.state, batch.state.candidates[:, 0], lookahead=not self.myopic)
        return self.info.task.encode(np.zeros_like(levels), levels)
