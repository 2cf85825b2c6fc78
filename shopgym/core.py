"""The one batched simulator: N shoppers as arrays, all stepped in one call.

Every env in shopgym (single, Gymnasium vector, SB3 VecEnv) is a view of this class; the dynamics exist
only here. A step is one *visit* per shopper: the policy shows a slate of candidate items with paid
fractions, the shopper clicks at most one (or leaves) and may buy it, then the shopper's state moves.

Randomness: :meth:`MarketSimulator.seed` splits one ``np.random.SeedSequence`` into independent streams for
the catalog, new shoppers, visits and drift. Nothing here touches NumPy's global RNG.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from shopgym import scenarios
from shopgym.catalog import Catalog, generate_candidates, sample_catalog
from shopgym.choice import ChoiceModel, NestedLogit, visit_utilities
from shopgym.drift import DriftComponent, build_drift
from shopgym.market import Market, compile_market, population_appeal
from shopgym.params import AbruptSwitch, GradualShift, ParameterError, Scenario, clip
from shopgym.reward import KpiReward, RewardFunction, reward_components
from shopgym.routine import RoutineLines, routine_lines
from shopgym.shoppers import HISTORY_MEMORY, ShopperState, VisitRecord, sample_shoppers, transition

__all__ = ["HISTORY_MEMORY", "MarketSimulator", "VisitOutcome"]

#: New shoppers are drawn in blocks of this many while the market is unchanged (fewer, larger array calls).
SHOPPER_BLOCK = 1024


def _check_components(choice_model: object, reward_fn: object) -> None:
    """Refuse injected components that lack their protocol's method (a class, not an instance, has it unbound)."""
    if isinstance(choice_model, type) or not all(
        callable(getattr(choice_model, method, None)) for method in ("choose", "probabilities")
    ):
        raise ParameterError(
            f"choice_model = {clip(repr(choice_model))} must be an object with probabilities(utilities) and "
            "choose(rng, utilities) "
            "method (shopgym.choice.ChoiceModel), or None for the nested logit"
        )
    if isinstance(reward_fn, type) or not callable(reward_fn):
        raise ParameterError(
            f"reward_fn = {clip(repr(reward_fn))} must be a function of the reward components "
            "(shopgym.reward.RewardFunction), or None for the scenario's reward"
        )


def _check_drift_targets(scenario: Scenario, resolve_scenario: Callable[[str], Scenario]) -> None:
    """Resolve the target of every switch and shift once: they are read at every seed, and a bad name should be
    reported when the simulator is built, not at the first reset."""
    for index, spec in enumerate(scenario.drift):
        if isinstance(spec, AbruptSwitch | GradualShift):
            try:
                resolve_scenario(spec.to)
            except ParameterError as error:
                raise ParameterError(f"drift.{index}.to = {clip(repr(spec.to))}: {error}") from None


@dataclass(frozen=True, eq=False)
class VisitOutcome:
    """What happened in one visit per shopper; every array has leading axis N."""

    clicked: np.ndarray  # slate position clicked, −1 = none
    item: np.ndarray  # catalog id clicked, −1 = none
    purchased: np.ndarray  # bool
    units: np.ndarray  # int units bought (0 without a purchase)
    churned: np.ndarray  # bool: the shopper left for good (episode terminated)
    paid_fraction: np.ndarray  # x of the clicked item (1 when nothing was clicked)
    reward: np.ndarray  # float64
    components: dict[str, np.ndarray]  # see shopgym.reward.COMPONENTS
    routine: RoutineLines | None = None  # each category's routine line (None: the market has none)
    gap: np.ndarray | None = None  # [N] days until the shopper's next visit (None: one day each)


class MarketSimulator:
    """Catalog, market and clock of one scenario, plus the batched visit dynamics.

    Args:
        scenario: validated market parameters.
        n_candidates: K, items proposed per visit.
        resolve_scenario: looks up drift targets by name.
        choice_model: click/purchase probabilities and sampler (default :class:`~shopgym.choice.NestedLogit`).
        reward_fn: components → reward (default :class:`~shopgym.reward.KpiReward` of ``scenario.reward``).
    """

    def __init__(
        self,
        scenario: Scenario,
        n_candidates: int,
        resolve_scenario: Callable[[str], Scenario],
        choice_model: ChoiceModel | None = None,
        reward_fn: RewardFunction | None = None,
    ) -> None:
        self.scenario = scenario
        self.n_candidates = n_candidates
        self._resolve = resolve_scenario
        self.choice_model = NestedLogit() if choice_model is None else choice_model
        self.reward_fn = KpiReward(scenario.reward) if reward_fn is None else reward_fn
        _check_components(self.choice_model, self.reward_fn)
        _check_drift_targets(scenario, resolve_scenario)
        self.catalog: Catalog
        self.base_market: Market
        self.market: Market
        self.drift: list[DriftComponent] = []
        self.clock = 0
        self._waiting: ShopperState | None = None  # drawn, not yet arrived shoppers of ``_waiting_market``
        self._waiting_market: Market | None = None
        self._waiting_next = 0

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the drift-target resolver: a pickle (a training checkpoint) holds data, never a function
        that reads files. An unpickled simulator resolves with :func:`shopgym.scenarios.resolve_scenario`."""
        state = self.__dict__.copy()
        del state["_resolve"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._resolve = scenarios.resolve_scenario

    # ------------------------------------------------------------------ seeding and shoppers
    def seed(self, seed: int | np.random.SeedSequence | None) -> None:
        """Restart the market: new random streams, catalog, drift schedule, and clock = 0."""
        sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        catalog_seq, shopper_seq, visit_seq, drift_seq = sequence.spawn(4)
        catalog_seed = self.scenario.catalog.catalog_seed
        if catalog_seed is not None:
            catalog_seq = np.random.SeedSequence(catalog_seed)
        self.catalog = sample_catalog(
            np.random.default_rng(catalog_seq), self.scenario.catalog, population_appeal(self.scenario)
        )
        self.shopper_rng = np.random.default_rng(shopper_seq)
        self.visit_rng = np.random.default_rng(visit_seq)
        self.drift_rng = np.random.default_rng(drift_seq)
        self.base_market = compile_market(self.scenario, self.catalog)
        self.market = self.base_market
        self.drift = build_drift(self.scenario, self.catalog, self._resolve)
        self.clock = 0
        self._waiting, self._waiting_market, self._waiting_next = None, None, 0
        self._apply_drift()

    def new_shoppers(self, n: int) -> ShopperState:
        """Draw ``n`` shoppers from the current market, with their first candidate sets."""
        state = self._arrivals(n)
        state.candidates[:] = self._candidates(state.category_share)
        return state

    def _arrivals(self, n: int) -> ShopperState:
        """``n`` new shoppers. While the market is unchanged they come from a block drawn ahead of time."""
        n_categories = self.catalog.n_categories
        if self._waiting_market is not self.market or n > SHOPPER_BLOCK:
            # the market changed (or a big request): draw exactly what is needed from the current market
            self._waiting, self._waiting_market, self._waiting_next = None, self.market, 0
            return sample_shoppers(self.shopper_rng, self.market, n, n_categories, self.n_candidates)
        if self._waiting is None or self._waiting_next + n > self._waiting.n:
            self._waiting = sample_shoppers(
                self.shopper_rng, self.market, SHOPPER_BLOCK, n_categories, self.n_candidates
            )
            self._waiting_next = 0
        start, self._waiting_next = self._waiting_next, self._waiting_next + n
        return self._waiting.take(slice(start, start + n))

    def replace_shoppers(self, state: ShopperState, rows: np.ndarray) -> None:
        """Put new shoppers in ``rows`` (bool mask or indices) of ``state``, e.g. after churn or the horizon."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        if rows.size:
            state.assign(rows, self.new_shoppers(rows.size))

    def _candidates(self, category_weights: np.ndarray) -> np.ndarray:
        return generate_candidates(
            self.visit_rng, self.catalog, category_weights, self.n_candidates, self.scenario.retrieval
        )

    # ------------------------------------------------------------------ the visit
    def step(
        self,
        state: ShopperState,
        slate: np.ndarray,
        paid_fraction: np.ndarray,
        active: np.ndarray | None = None,
        shelf: np.ndarray | None = None,
    ) -> VisitOutcome:
        """Run one visit for every shopper, updating ``state`` in place.

        Args:
            state: the batch of N shoppers.
            slate: [N, S] candidate positions (indices into ``state.candidates``), −1 for an empty slot.
            paid_fraction: [N, S] fraction of list price charged, in (0, 1]; discount = 1 − paid_fraction.
            active: optional bool [N]; only active visits advance the market clock (default: all).
            shelf: optional [n_items] paid fraction of every item on the shelf today, which routine lines pay
                (default: list price; :mod:`shopgym.routine`).
        """
        catalog, coef = self.catalog, self.market.coefficients
        n, slate_size = slate.shape
        rows = np.arange(n)
        shown = slate >= 0
        n_candidates = state.candidates.shape[1]
        items = np.where(shown, state.candidates.take(np.maximum(slate, 0) + rows[:, None] * n_candidates), -1)
        choice = self.choice_model.choose(self.visit_rng, visit_utilities(state, catalog, coef, items, paid_fraction))
        clicked, purchased, units = choice.clicked, choice.purchased, choice.units

        did_click = clicked >= 0
        flat_at = np.maximum(clicked, 0) + rows * slate_size
        item = np.where(did_click, items.take(flat_at), -1)
        safe_item = np.maximum(item, 0)
        x_clicked = np.where(did_click, paid_fraction.take(flat_at), 1.0)
        price, cost = catalog.price.take(safe_item), catalog.cost.take(safe_item)
        units = np.where(purchased, units, 0)
        spent = units * price * x_clicked
        # routine lines and days between visits draw random numbers only in markets that have them
        routine = gap = None
        if state.routine_purchase.any():
            routine = routine_lines(self.visit_rng, state, catalog, coef, item, units, shelf)
        if (state.visit_interval > 1.0).any():
            gap = self.visit_rng.geometric(1.0 / state.visit_interval)
            if state.topup_chance.any():  # a share of returns are top-up trips, a day or two later
                topup = self.visit_rng.random(n) < state.topup_chance
                gap = np.where(topup, self.visit_rng.geometric(1.0 / state.topup_interval), gap)
        record = VisitRecord(
            items, paid_fraction, item, units, spent,
            None if routine is None else routine.units, None if routine is None else routine.paid_fraction, gap,
        )  # fmt: skip
        hazard = transition(state, catalog, coef, record)
        churned = self.visit_rng.random(n) < hazard

        components = reward_components(clicked, units, churned, price, cost, x_clicked)
        if routine is not None:  # the store's total: routine lines count in revenue, profit, discounts and units
            # q·p·x, q·(p·x − k) and q·p·(1 − x)⁺ per line, in place (the same numbers), summed per shopper
            line = np.maximum(routine.item, 0)
            line_price, line_cost, x = catalog.price.take(line), catalog.cost.take(line), routine.paid_fraction
            spent = routine.units * line_price  # q·p, then q·p·x
            discount = np.subtract(1.0, x)  # 1 − x, then q·p·(1 − x)⁺
            np.maximum(discount, 0.0, out=discount)
            discount *= spent
            spent *= x
            components["revenue"] += spent.sum(axis=1)
            margin = line_price  # p·x − k, then q·(p·x − k)
            margin *= x
            margin -= line_cost
            margin *= routine.units
            components["profit"] += margin.sum(axis=1)
            components["discount_cost"] += discount.sum(axis=1)
            components["units"] += routine.units.sum(axis=1)
        reward = self.reward_fn(components)
        if np.shape(reward) != (n,):
            raise ValueError(f"reward_fn returned {clip(repr(reward))}, not an array of {n} rewards")
        outcome = VisitOutcome(
            clicked=clicked,
            item=item,
            purchased=purchased,
            units=units,
            churned=churned,
            paid_fraction=x_clicked,
            reward=reward,
            components=components,
            routine=routine,
            gap=gap,
        )

        self.clock += n if active is None else int(active.sum())
        self._apply_drift()
        state.candidates[:] = self._candidates(state.category_share)
        return outcome

    def _apply_drift(self) -> None:
        """Set the market (and catalog) for the current clock from the base market and the drift components."""
        if self.drift:
            market, catalog = self.base_market, self.catalog
            for component in self.drift:
                market, catalog = component.apply(self.clock, market, catalog, self.drift_rng)
            self.market, self.catalog = market, catalog
