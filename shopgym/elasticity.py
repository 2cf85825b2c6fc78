"""Price elasticities of a market's demand, measured by simulation on the platform's proposed items.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopgym.envs.batch import ShopperBatch
from shopgym.params import Scenario
from shopgym.scenarios import resolve_scenario

__all__ = ["Elasticities", "price_elasticities"]


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
