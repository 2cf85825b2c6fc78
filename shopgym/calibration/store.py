"""A scenario's shoppers in a store over days, written as a transaction log in Ta Feng's layout.

:func:`simulate_store` steps the one batched core (no env: no episode horizon) day by day and records every
routine line bought in a window of days (docs/model.md §5.1). The store shows no offers of its own: its logging
policy is its prices (:class:`StorePolicy`): shelf prices, which every visitor of the day sees and pays, and
discounts at the till, which some lines get after they were chosen. Ta Feng's log has no exposure data, so what
it shows of promotions is how many lines sold below or above their regular price, how far, for how many days in a
row, and whether others paid the regular price the same day.

Stationarity: every slot of the batch holds a sequence of shoppers; when a shopper churns, the next one arrives
after the gap the leaver would have waited. A slot's shopper holds it from their first visit to the next shopper's,
so a store open for ever holds slow shoppers far more often than new arrivals are slow: a shopper who comes every
300 days stays for years. The slots start as such a store holds them (:func:`_steady_slots`, renewal theory), and
a burn-in of ``burn_in`` days then sets what visits change (stock, wallet, engagement and reference prices; a slow
shopper's reference prices take longer than a year, docs/calibration.md), so the window sees a steady store, with
customers of every age, like a window cut from a real log. (Starting every slot with a new shopper instead, the
window drifts for years toward the slow shoppers: on the ``tafeng`` preset fitted that way, lines per visit grew
by 15 % between burn-ins of one year and twelve.)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopgym.calibration.transaction_log import TransactionLog
from shopgym.catalog import Catalog
from shopgym.core import MarketSimulator
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import resolve_scenario
from shopgym.shoppers import ShopperState, churn_hazard

__all__ = ["StorePolicy", "StoreRun", "item_sales", "simulate_store"]

#: New shoppers drawn per slot, from which :func:`_steady_slots` picks the store's first ones.
POOL = 4


class StorePolicy(BaseModel):
    """How the simulated store prices (its logging policy; it shows no offers of its own). Each item's
    promotions come and go as a two-state Markov chain over days: on a share ``discount_chance`` of item-days, in
    spells of ``discount_days`` days on average (geometric), each at one depth drawn around ``discount_depth``.
    With ``discount_focus`` γ > 0 promotions fall on the best sellers (loss leaders): an item's share of days on
    promotion is ∝ its share of sales^γ, averaging ``discount_chance`` over the items before each is capped at 95 %,
    so a best seller can sell most of its units at its promotional price.
    Short sales come and go by a chain of their own, on a share ``sale_chance`` of the item-days (every item alike),
    in spells of ``sale_days`` days, each at one depth drawn around ``sale_depth``; an item-day in both pays the
    deeper discount. A best seller's long promotion becomes its regular price in the log, so the two chains give
    the store two depths: the invisible one of its loss leaders, and the visible one of its short sales.
    Price rises above list come and go by a third, independent chain with the promotions' spell length, on a share
    ``rise_chance`` of the item-days not on promotion, each at one rise drawn around ``rise_size``. Apart from the
    shelf, a share ``checkout_chance`` of the lines get a discount at the till (a member price or a coupon, drawn
    around ``checkout_depth``): the shopper chose the line at the shelf price, the log shows what was paid."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    discount_chance: float = Field(0.1, ge=0.0, le=0.95, description="share of item-days on promotion")
    discount_days: float = Field(7.0, ge=1.0, le=365.0, description="mean length of a promotion or rise (days)")
    discount_focus: float = Field(
        0.0, ge=0.0, le=4.0, description="how much promotions favour the best sellers (0: every item alike)"
    )
    discount_depth: float = Field(
        0.1, ge=0.02, le=0.9, description="mean discount of a promotion: 2 % + an exponential, capped at 90 %"
    )
    sale_chance: float = Field(0.0, ge=0.0, le=0.95, description="share of item-days in a short sale")
    sale_days: float = Field(2.0, ge=1.0, le=365.0, description="mean length of a short sale (days)")
    sale_depth: float = Field(
        0.1, ge=0.02, le=0.9, description="mean discount of a short sale: 2 % + an exponential, capped at 90 %"
    )
    rise_chance: float = Field(0.0, ge=0.0, le=0.95, description="share of item-days off promotion priced above list")
    rise_size: float = Field(
        0.1, ge=0.02, le=2.0, description="mean rise above list: 2 % + an exponential, capped at 200 %"
    )
    checkout_chance: float = Field(0.0, ge=0.0, le=0.95, description="share of lines discounted at the till")
    checkout_depth: float = Field(
        0.1, ge=0.02, le=0.9, description="mean discount at the till: 2 % + an exponential, capped at 90 %"
    )

    def checkout(self, rng: np.random.Generator, lines: int) -> np.ndarray:
        """[lines] the share of the shelf price each line pays at the till (1: no discount there)."""
        if not self.checkout_chance:
            return np.ones(lines)
        depth = np.minimum(0.02 + rng.exponential(self.checkout_depth - 0.02, lines), 0.9)
        return np.where(rng.random(lines) < self.checkout_chance, 1.0 - depth, 1.0)

    def shelf(self, rng: np.random.Generator, days: int, sales: np.ndarray) -> np.ndarray:
        """[days, n_items] paid fraction of every item on each day (list price = 1), each chain started from its
        stationary share; ``sales`` [n_items] is each item's expected share of the sales at list prices (what
        ``discount_focus`` weighs). The rise and sale chains draw from children of ``rng`` (spawned only when they
        are on), so the promotions are the same with or without them."""
        n_items = sales.size
        chance = self.promotion_chance(sales)
        discount = _Spells(rng, chance, self.discount_days, self.discount_depth, 0.9, n_items)
        rise = None  # on a stream of its own, so that rises leave the discounts' calendar as it was
        if self.rise_chance:
            rise = _Spells(rng.spawn(1)[0], self.rise_chance, self.discount_days, self.rise_size, 2.0, n_items)
        sale = None
        if self.sale_chance:
            sale = _Spells(rng.spawn(1)[0], self.sale_chance, self.sale_days, self.sale_depth, 0.9, n_items)
        shelf = np.ones((days, n_items))
        for day in range(days):
            shelf[day] = 1.0 - (discount.today() if sale is None else np.maximum(discount.today(), sale.today()))
            if rise is not None:
                shelf[day] = np.where(shelf[day] < 1.0, shelf[day], 1.0 + rise.today())
        return shelf

    def promotion_chance(self, sales: np.ndarray) -> float | np.ndarray:
        """Each item's share of days on promotion: ``discount_chance`` for all, or with ``discount_focus`` γ > 0 ∝
        sales^γ (``sales`` [n_items] as in :meth:`shelf`), averaging ``discount_chance`` over the items before each
        is capped at 95 %."""
        if not self.discount_focus:
            return self.discount_chance
        weight = sales**self.discount_focus
        return np.minimum(self.discount_chance * weight * sales.size / weight.sum(), 0.95)


def item_sales(catalog: Catalog) -> np.ndarray:
    """[n_items] each item's expected share of a store's sales at list prices: every category is as likely to get a
    line, and an item takes its popularity share within its category."""
    return catalog.popularity_within / catalog.n_categories


class _Spells:
    """A two-state Markov chain per item over days: on a share ``chance`` (one, or [n] per item) of days, in
    geometric spells of mean ``length`` days, each at a size 2 % + an exponential of mean ``size`` − 2 %, capped at
    ``cap``."""

    def __init__(
        self, rng: np.random.Generator, chance: float | np.ndarray, length: float, size: float, cap: float, n: int
    ) -> None:
        self.rng, self.size, self.cap = rng, size, cap
        self.end = 1.0 / length
        self.start = np.minimum(1.0, chance * self.end / np.maximum(1.0 - chance, 1e-12))
        self.on = rng.random(n) < chance
        self.value = self._draw(n)

    def _draw(self, n: int) -> np.ndarray:
        return np.minimum(0.02 + self.rng.exponential(self.size - 0.02, n), self.cap)

    def today(self) -> np.ndarray:
        """Today's sizes (0 off a spell), then one day's moves of the chain."""
        sizes = np.where(self.on, self.value, 0.0)
        flip = self.rng.random(self.on.size)
        begins = ~self.on & (flip < self.start)
        self.on = np.where(self.on, flip >= self.end, begins)
        self.value = np.where(begins, self._draw(self.on.size), self.value)
        return sizes


def _steady_slots(
    simulator: MarketSimulator, shoppers: int, rng: np.random.Generator
) -> tuple[ShopperState, np.ndarray]:
    """The shoppers of ``shoppers`` slots of a store open for ever, and the days [shoppers] until each slot's next
    visit (0: today).

    A slot's shopper θ holds it from their first visit to the next shopper's: for their N visits' gaps. So a store
    open for ever holds θ with a chance ∝ E[N | θ]·E[gap | θ] (drawn here by weight from :data:`POOL` new shoppers
    per slot), in one of their gaps, which is the last with chance 1 / E[N | θ]: then the slot holds a new shopper
    who arrives at the gap's end. The gap in progress is a regular one with a chance ∝ (1 − q)·I against q·t for a
    top-up trip, and what is left of a geometric gap is geometric. E[N | θ] = 1 + (1 − f₁)(1 − h)/h takes the churn
    hazard h at the shopper's drawn engagement, which is exact where the hazard does not move (as in ``tafeng``);
    the burn-in then sets what the visits change."""
    pool = simulator.new_shoppers(POOL * shoppers)
    hazard = np.maximum(churn_hazard(pool.engagement, simulator.market.coefficients), 1e-9)
    visits = 1.0 + (1.0 - pool.first_visit_churn) * (1.0 - hazard) / hazard
    if (pool.visit_interval > 1.0).any():  # the core's days between visits (else one day each)
        regular, topup = pool.visit_interval, pool.topup_interval
        share = pool.topup_chance
    else:
        regular, topup, share = np.ones(pool.n), np.ones(pool.n), np.zeros(pool.n)
    gap = (1.0 - share) * regular + share * topup
    weight = visits * gap
    chosen = rng.choice(pool.n, shoppers, p=weight / weight.sum())
    state = pool.take(chosen)
    in_regular = rng.random(shoppers) < (1.0 - share[chosen]) * regular[chosen] / gap[chosen]
    wait = rng.geometric(1.0 / np.where(in_regular, regular[chosen], topup[chosen])) - 1
    last = rng.random(shoppers) < 1.0 / visits[chosen]
    state.visits[~last] = 1
    simulator.replace_shoppers(state, last)
    return state, wait


def _log(lines: list[tuple[np.ndarray, ...]], catalog_category: np.ndarray) -> TransactionLog:
    """The transaction log of the recorded (customer, day, item, units, paid, cost) chunks."""
    empty = (np.zeros(0, dtype=np.int64),) * 4 + (np.zeros(0),) * 2
    customer, day, item, units, paid, cost = (np.concatenate(c) for c in zip(*lines, strict=True)) if lines else empty
    return TransactionLog(
        customer=customer, day=day, product=item, category=catalog_category.take(item), units=units.astype(np.int64),
        paid=paid, cost=cost, origin=np.datetime64("2000-11-01"),
    )  # fmt: skip


class StoreRun:
    """A simulated store being stepped day by day (:func:`simulate_store`), which can be continued from where it
    stands under another policy from a later day on (:meth:`with_policy`): a later window's store search steps the
    earlier window once per store, not once per point. Arguments as :func:`simulate_store`."""

    def __init__(
        self,
        scenario: Scenario | str,
        days: int,
        shoppers: int,
        seed: int,
        policy: StorePolicy | Sequence[tuple[int, StorePolicy]] | None = None,
        burn_in: int = 365,
        kept: float = 1.0,
    ) -> None:
        scenario = resolve_scenario(scenario)
        calendar = [(0, StorePolicy() if policy is None else policy)] if not isinstance(policy, Sequence) else policy
        if days < 1 or shoppers < 1 or burn_in < 0 or not 0 < kept <= 1:
            raise ParameterError(
                f"days = {days}, shoppers = {shoppers}, burn_in = {burn_in}, kept = {kept}: allowed ≥ 1, ≥ 1, ≥ 0,"
                " (0, 1]"
            )
        starts = [day for day, _ in calendar]
        if not calendar or starts != sorted(starts):
            raise ParameterError(f"policy starts on days {starts}: give at least one, in order of day")
        simulator_seed, store_seed, slots_seed, till_seed = np.random.SeedSequence(seed).spawn(4)
        self.simulator = MarketSimulator(scenario, 1, resolve_scenario)
        self.simulator.seed(simulator_seed)
        rng = np.random.default_rng(store_seed)
        self.seed, self.calendar, self.starts, self.days, self.burn_in = seed, list(calendar), starts, days, burn_in
        self._sales = item_sales(self.simulator.catalog)
        # each shelf's stream as it was before its draw, so that a policy can be swapped for another (with_policy):
        # a shelf's draws from the stream do not depend on its policy's values, so later shelves stay as they were
        self._shelf_streams: list[np.random.Generator] = []
        self._shelves: list[np.ndarray] = []
        for _, store in calendar:
            self._shelf_streams.append(copy.deepcopy(rng))
            self._shelves.append(store.shelf(rng, burn_in + days, self._sales))
        self.state, wait = _steady_slots(self.simulator, shoppers, rng)
        self._visit_day = wait - burn_in  # each slot's shopper's next visit
        self._customer = np.arange(shoppers)
        self._keep = np.random.default_rng(slots_seed).random(shoppers) < kept
        self._till = np.random.default_rng(till_seed)
        self._lines: list[tuple[np.ndarray, ...]] = []
        self.day = -burn_in  # the next day to step

    def run(self, until: int | None = None) -> StoreRun:
        """Step the days from :attr:`day` to ``until`` − 1 (None: to the last), and return the run."""
        until = self.days if until is None else min(until, self.days)
        simulator, catalog, state, shoppers = self.simulator, self.simulator.catalog, self.state, self._customer.size
        for day in range(self.day, until):
            rows = np.flatnonzero(self._visit_day == day)
            if not rows.size:
                continue
            visitors = state.take(rows)
            nothing = np.full((rows.size, 1), -1)  # the store shows no offers: what is bought is routine lines
            policy_index = max(0, np.searchsorted(self.starts, day, side="right") - 1)
            today = self._shelves[policy_index][day + self.burn_in]
            outcome = simulator.step(visitors, nothing, np.ones((rows.size, 1)), shelf=today)
            if day >= 0 and outcome.routine is not None:
                row, column = np.nonzero((outcome.routine.item >= 0) & self._keep[rows][:, None])
                item, units = outcome.routine.item[row, column], outcome.routine.units[row, column]
                paid = units * catalog.price[item] * outcome.routine.paid_fraction[row, column]
                paid *= self.calendar[policy_index][1].checkout(self._till, row.size)
                lines = (self._customer[rows[row]], np.full(row.size, day), item, units, paid)
                self._lines.append((*lines, units * catalog.cost[item]))
            self._visit_day[rows] = day + (1 if outcome.gap is None else outcome.gap)
            left = np.flatnonzero(outcome.churned)
            if left.size:  # the slot's next shopper arrives when the leaver would have come back
                self._customer[rows[left]] += shoppers
                simulator.replace_shoppers(visitors, left)
            state.assign(rows, visitors)
        self.day = max(self.day, until)
        return self

    def with_policy(self, index: int, policy: StorePolicy) -> StoreRun:
        """A copy of this run with the ``index``-th policy of its calendar replaced by ``policy`` (its shelf drawn
        as it would have been): the same as a run started with that calendar, as long as this one has not reached
        that policy's first day."""
        first = self.starts[index] if index else -self.burn_in
        if self.day > first:
            raise ParameterError(f"the run is at day {self.day}, past policy {index}'s first day {first}")
        other = copy.deepcopy(self)
        other.calendar[index] = (self.calendar[index][0], policy)
        stream = copy.deepcopy(self._shelf_streams[index])
        other._shelves[index] = policy.shelf(stream, self.burn_in + self.days, self._sales)
        return other

    def log(self) -> TransactionLog:
        """The lines recorded so far."""
        return _log(self._lines, self.simulator.catalog.category)


def simulate_store(
    scenario: Scenario | str,
    days: int,
    shoppers: int,
    seed: int,
    policy: StorePolicy | Sequence[tuple[int, StorePolicy]] | None = None,
    burn_in: int = 365,
    kept: float = 1.0,
) -> TransactionLog:
    """The lines ``scenario``'s shoppers buy on days 0 … ``days`` − 1, from ``shoppers`` slots (see the module
    docstring), on a shelf priced by ``policy``: one policy, or (first day, policy) pairs in order of day, each in
    force from its day on (the first also before it). Shoppers are stepped day by day, those whose visit falls on
    the day together, so all of them see the day's shelf. Product ids are catalog item ids and categories the
    catalog's; the log's origin is a nominal date (day 0). Customer ``g·shoppers + s`` is the g-th shopper of slot s.
    The log keeps the lines of a random share ``kept`` of the slots (a thinned store whose kept slots step exactly
    as in the whole one, so a fit can move ``kept`` without redrawing them). Same seed, same log."""
    return StoreRun(scenario, days, shoppers, seed, policy, burn_in, kept).run().log()
