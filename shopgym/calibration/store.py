"""A scenario's shoppers in a store over days, written as a transaction log in Ta Feng's layout.

:func:`simulate_store` steps the one batched core (no env: no episode horizon) day by day and records every
routine line bought in a window of days (docs/model.md §5.1). The store shows no offers of its own: its logging
policy is its shelf prices (:class:`StorePolicy`), which every visitor of the day pays. Ta Feng's log has no
exposure data, so what it shows of promotions is how many lines sold below their regular price, how deep and for
how many days in a row.

Stationarity: every slot of the batch holds a sequence of shoppers. A slot's first shopper arrives at a uniform
random day in the ``burn_in`` days before the window; when a shopper churns, the next one arrives after the gap
the leaver would have waited. After a burn-in longer than most lifetimes the window sees a steady store, with
customers of every age, like a window cut from a real log.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopgym.calibration.transactions import TransactionLog
from shopgym.core import MarketSimulator
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import resolve_scenario

__all__ = ["StorePolicy", "simulate_store"]


class StorePolicy(BaseModel):
    """How the simulated store prices its shelf (its logging policy; it shows no offers of its own). Each item's
    promotions come and go as a two-state Markov chain over days: on a share ``discount_chance`` of item-days, in
    spells of ``discount_days`` days on average (geometric), each at one depth drawn around ``discount_depth``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    discount_chance: float = Field(0.1, ge=0.0, le=0.95, description="share of item-days on promotion")
    discount_days: float = Field(7.0, ge=1.0, le=365.0, description="mean length of a promotion (days)")
    discount_depth: float = Field(
        0.1, ge=0.02, le=0.9, description="mean discount of a promotion: 2 % + an exponential, capped at 90 %"
    )

    def shelf(self, rng: np.random.Generator, days: int, n_items: int) -> np.ndarray:
        """[days, n_items] paid fraction of every item on each day, the chain started from its stationary share."""
        end = 1.0 / self.discount_days
        start = min(1.0, self.discount_chance * end / max(1.0 - self.discount_chance, 1e-12))
        shelf = np.ones((days, n_items))
        on = rng.random(n_items) < self.discount_chance
        depth = np.minimum(0.02 + rng.exponential(self.discount_depth - 0.02, n_items), 0.9)
        for day in range(days):
            shelf[day] = np.where(on, 1.0 - depth, 1.0)
            flip = rng.random(n_items)
            begins = ~on & (flip < start)
            on = np.where(on, flip >= end, begins)
            fresh = np.minimum(0.02 + rng.exponential(self.discount_depth - 0.02, n_items), 0.9)
            depth = np.where(begins, fresh, depth)
        return shelf


def _log(lines: list[tuple[np.ndarray, ...]], catalog_category: np.ndarray) -> TransactionLog:
    """The transaction log of the recorded (customer, day, item, units, paid, cost) chunks."""
    empty = (np.zeros(0, dtype=np.int64),) * 4 + (np.zeros(0),) * 2
    customer, day, item, units, paid, cost = (np.concatenate(c) for c in zip(*lines, strict=True)) if lines else empty
    return TransactionLog(
        customer=customer, day=day, product=item, category=catalog_category.take(item), units=units.astype(np.int64),
        paid=paid, cost=cost, origin=np.datetime64("2000-11-01"),
    )  # fmt: skip


def simulate_store(
    scenario: Scenario | str,
    days: int,
    shoppers: int,
    seed: int,
    policy: StorePolicy | Sequence[tuple[int, StorePolicy]] | None = None,
    burn_in: int = 365,
) -> TransactionLog:
    """The lines ``scenario``'s shoppers buy on days 0 … ``days`` − 1, from ``shoppers`` slots (see the module
    docstring), on a shelf priced by ``policy``: one policy, or (first day, policy) pairs in order of day, each in
    force from its day on (the first also before it). Shoppers are stepped day by day, those whose visit falls on
    the day together, so all of them see the day's shelf. Product ids are catalog item ids and categories the
    catalog's; the log's origin is a nominal date (day 0). Same seed, same log."""
    scenario = resolve_scenario(scenario)
    calendar = [(0, StorePolicy() if policy is None else policy)] if not isinstance(policy, Sequence) else policy
    if days < 1 or shoppers < 1 or burn_in < 0:
        raise ParameterError(f"days = {days}, shoppers = {shoppers}, burn_in = {burn_in}: allowed ≥ 1, ≥ 1, ≥ 0")
    starts = [day for day, _ in calendar]
    if not calendar or starts != sorted(starts):
        raise ParameterError(f"policy starts on days {starts}: give at least one, in order of day")
    simulator_seed, store_seed = np.random.SeedSequence(seed).spawn(2)
    simulator = MarketSimulator(scenario, 1, resolve_scenario)
    simulator.seed(simulator_seed)
    rng = np.random.default_rng(store_seed)
    catalog = simulator.catalog
    shelves = [store.shelf(rng, burn_in + days, catalog.price.size) for _, store in calendar]
    state = simulator.new_shoppers(shoppers)
    visit_day = rng.integers(-burn_in, 1, shoppers)  # each slot's shopper's next visit
    customer = np.arange(shoppers)
    next_customer = shoppers
    lines: list[tuple[np.ndarray, ...]] = []
    for day in range(-burn_in, days):
        rows = np.flatnonzero(visit_day == day)
        if not rows.size:
            continue
        visitors = state.take(rows)
        nothing = np.full((rows.size, 1), -1)  # the store shows no offers: what is bought is routine lines
        today = shelves[max(0, np.searchsorted(starts, day, side="right") - 1)][day + burn_in]
        outcome = simulator.step(visitors, nothing, np.ones((rows.size, 1)), shelf=today)
        if day >= 0 and outcome.routine is not None:
            row, column = np.nonzero(outcome.routine.item >= 0)
            item, units = outcome.routine.item[row, column], outcome.routine.units[row, column]
            paid = units * catalog.price[item] * outcome.routine.paid_fraction[row, column]
            lines.append((customer[rows[row]], np.full(row.size, day), item, units, paid, units * catalog.cost[item]))
        visit_day[rows] = day + (1 if outcome.gap is None else outcome.gap)
        left = np.flatnonzero(outcome.churned)
        if left.size:  # the slot's next shopper arrives when the leaver would have come back
            customer[rows[left]] = np.arange(next_customer, next_customer + left.size)
            next_customer += left.size
            simulator.replace_shoppers(visitors, left)
        state.assign(rows, visitors)
    return _log(lines, catalog.category)
