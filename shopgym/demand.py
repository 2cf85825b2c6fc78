"""Demand analysis by simulation: price elasticities, and where a promotion's sales bump comes from.

**Elasticities** are measured on the platform's proposed items.

Demand is the expected units sold per visit when every visit shows the platform's one proposed item (the
Promote task) at one price. Two populations of shoppers start alike (same seed) and differ only in that price:

* **long-run** elasticity: both see their price at every visit, and the second population's reference prices
  start adapted to it (ρ₀ scaled by 1 − δ), so the cut is an everyday price, not a promotion whose early gains
  would linger in engagement; ε_LR = ln(u_cut / u_list) / ln(1 − δ), from the units per visit over the second half
  of ``visits``;
* **short-run (promotional)** elasticity: the second population sees list price until the last visit, then one
  visit at the cut price; ε_SR compares the units of that one visit. It includes the deal response and the gain
  against the reference price, which is why it is larger than the long-run one.

A profit-maximising list price needs |ε_LR| ≈ 1/m (Lerner's rule, m the gross margin), which is how the presets'
price sensitivities were set (docs/model.md §10). Units per visit come from the core's own reward components, so
this measures the model as it runs.

**A promotion's bump** (:func:`decompose_promotion`), after van Heerde, Leeflang & Wittink (2003): every shopper is
shown the same three items of one category at every visit; in the treated population one of them is discounted at
one visit. The extra units of the promoted item in that visit (the bump) are split into

* *switching*: units the other items of the category lose in that visit,
* *borrowed from the future*: category units lost in the visits after it (the post-promotion dip: purchases
  accelerated and stock piled up, which the shopper then consumes instead of buying),
* *category expansion*: the rest, extra consumption the promotion creates;

and, within the promotion visit, the bump in units is also split into more purchases and more units per purchase
(stockpiling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopgym.envs.batch import ShopperBatch
from shopgym.params import Scenario
from shopgym.scenarios import resolve_scenario

__all__ = ["Elasticities", "PromotionBump", "decompose_promotion", "price_elasticities"]


@dataclass(frozen=True)
class Elasticities:
    """Elasticities of units sold per visit with respect to the paid fraction, at list price."""

    short_run: float
    long_run: float
    lerner: float  # −1/m̄: the long-run elasticity a profit-maximising list price implies at the mean margin
    units_per_visit: float  # at list price, long run


def _units(batch: ShopperBatch, levels: list[int]) -> np.ndarray:
    """[V] mean units per shopper and visit, showing the proposed item at ``levels[t]`` on visit t; churned
    shoppers are replaced, so the population stays at its size."""
    batch.reset()
    units = []
    for level in levels:
        _, terminated, truncated, info = batch.step(np.full(batch.num_shoppers, level))
        units.append(info["units"].mean())
        batch.replace(terminated | truncated)
    return np.array(units)


def price_elasticities(
    scenario: str | Scenario, cut: float = 0.05, shoppers: int = 20_000, visits: int = 40, seed: int = 0
) -> Elasticities:
    """Short- and long-run elasticities of ``scenario`` for a price cut of ``cut`` (a fraction of list price)."""
    market = resolve_scenario(scenario)

    def run(levels: list[int], scenario: Scenario = market) -> np.ndarray:
        batch = ShopperBatch(
            "promote", shoppers, scenario=scenario, horizon=visits + 1, episode_end="fixed", discount_levels=(0.0, cut)
        )
        batch.seed(seed)
        return _units(batch, levels)

    adapted = market.replace(
        segments=[s.model_dump() | {"reference_price0": s.reference_price0 * (1.0 - cut)} for s in market.segments]
    )
    at_list = run([0] * visits)
    cut_always = run([1] * visits, adapted)
    cut_last = run([0] * (visits - 1) + [1])
    half = slice(visits // 2, None)
    log_change = np.log(1.0 - cut)
    margin = 0.5 * (market.catalog.margin_low + market.catalog.margin_high)
    return Elasticities(
        short_run=float(np.log(cut_last[-1] / at_list[-1]) / log_change),
        long_run=float(np.log(cut_always[half].mean() / at_list[half].mean()) / log_change),
        lerner=-1.0 / margin,
        units_per_visit=float(at_list[half].mean()),
    )


@dataclass(frozen=True)
class PromotionBump:
    """Where the promoted item's extra units come from (shares of ``bump``; the first three sum to one)."""

    bump: float  # extra units of the promoted item per shopper in the promotion visit
    switching: float
    borrowed: float  # the post-promotion dip of the category, over the visits after the promotion
    expansion: float
    stockpiling: float  # share of the bump that is extra units per purchase rather than extra purchases
    dip_by_visit: tuple[float, ...]  # category units per shopper, treated − control, in each visit after


def decompose_promotion(
    scenario: str | Scenario,
    depth: float = 0.3,
    shoppers: int = 40_000,
    warmup: int = 10,
    after: int = 15,
    seed: int = 0,
) -> PromotionBump:
    """Decompose the bump of a one-visit promotion of ``depth`` (a fraction of list price) in ``scenario``.

    Churn and the episode end are switched off, so both populations keep the same shoppers; they differ only in the
    one discounted visit after ``warmup`` visits at list price, and are followed for ``after`` visits.
    """
    market = resolve_scenario(scenario)
    market = market.replace(dynamics={"churn_min": 0.0, "churn_max": 0.0})

    def run(promote: bool) -> tuple[np.ndarray, np.ndarray]:
        batch = ShopperBatch("slate", shoppers, scenario=market, horizon=warmup + after + 2, slate_size=3)
        batch.seed(seed)
        batch.reset()
        sim, state = batch.simulator, batch.state
        catalog = sim.catalog
        category = catalog.category[state.candidates[:, 0]]
        # the category's three most popular items (fewer, repeated, in a category of fewer than three)
        shown = (
            catalog.category_start[category][:, None]
            + np.arange(3)[None, :] % catalog.category_count[category][:, None]
        )
        slate = np.tile(np.arange(3), (shoppers, 1))
        units, purchases = [], []
        for visit in range(warmup + 1 + after):
            paid = np.ones((shoppers, 3))
            if promote and visit == warmup:
                paid[:, 1] = 1.0 - depth
            state.candidates[:, :3] = shown
            outcome = sim.step(state, slate, paid)
            sold = np.zeros((shoppers, 3))
            rows = np.flatnonzero(outcome.purchased)
            sold[rows, outcome.clicked[rows]] = outcome.units[rows]
            units.append(sold.mean(axis=0))
            purchases.append(np.bincount(outcome.clicked[rows], minlength=3) / shoppers)
        return np.array(units), np.array(purchases)

    treated, treated_buys = run(True)
    control, control_buys = run(False)
    bump = treated[warmup, 1] - control[warmup, 1]
    others = (treated[warmup, [0, 2]] - control[warmup, [0, 2]]).sum()
    dip = (treated[warmup + 1 :] - control[warmup + 1 :]).sum(axis=1)
    extra_purchases = treated_buys[warmup, 1] - control_buys[warmup, 1]
    switching, borrowed = -others / bump, -dip.sum() / bump
    return PromotionBump(
        bump=float(bump),
        switching=float(switching),
        borrowed=float(borrowed),
        expansion=float(1.0 - switching - borrowed),
        stockpiling=float(1.0 - extra_purchases / bump),
        dip_by_visit=tuple(float(v) for v in dip),
    )
