"""Drift: the market changing on a clock that keeps running across episodes.

The *market clock* counts shopper visits served since the simulator was last seeded (a vector env of N
shoppers advances it by N per step), so a schedule means the same amount of traffic in a single env, a
vector env and an SB3 VecEnv. Each component maps (clock, market, catalog) to a new market and catalog.
Components that replace the market (switch, gradual) run first, then those that modify it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from shopgym.catalog import Catalog, churn_catalog
from shopgym.market import Market, blend_markets, compile_market
from shopgym.params import (
    AbruptSwitch,
    CatalogChurn,
    CatalogParams,
    CompetitorEntry,
    DriftSpec,
    GradualShift,
    Scenario,
    Seasonal,
)

__all__ = [
    "CatalogChurnDrift",
    "CompetitorDrift",
    "DriftComponent",
    "GradualDrift",
    "SeasonalDrift",
    "SwitchDrift",
    "build_drift",
]


class DriftComponent(Protocol):
    """One source of change. ``apply`` is called once per step with the clock after the step's visits."""

    def apply(
        self, clock: int, market: Market, catalog: Catalog, rng: np.random.Generator
    ) -> tuple[Market, Catalog]: ...


@dataclass(frozen=True, eq=False)
class SwitchDrift:
    """From ``at`` on, the market is ``target``."""

    at: int
    target: Market

    def apply(self, clock: int, market: Market, catalog: Catalog, rng: np.random.Generator) -> tuple[Market, Catalog]:
        return (self.target if clock >= self.at else market), catalog


@dataclass(frozen=True, eq=False)
class GradualDrift:
    """Blend linearly from the current market to ``target`` between ``start`` and ``end``."""

    start: int
    end: int
    target: Market

    def weight(self, clock: int) -> float:
        return min(max((clock - self.start) / (self.end - self.start), 0.0), 1.0)

    def apply(self, clock: int, market: Market, catalog: Catalog, rng: np.random.Generator) -> tuple[Market, Catalog]:
        return blend_markets(market, self.target, self.weight(clock)), catalog


@dataclass(frozen=True)
class SeasonalDrift:
    """β scales by 1 + a·sin(2π(clock/period + phase)); clicking gains b·sin (the outside option falls)."""

    period: int
    price_sensitivity_amplitude: float
    demand_amplitude: float
    phase: float = 0.0

    def apply(self, clock: int, market: Market, catalog: Catalog, rng: np.random.Generator) -> tuple[Market, Catalog]:
        wave = math.sin(2.0 * math.pi * (clock / self.period + self.phase))
        coef = market.coefficients
        coef = replace(
            coef,
            price_sensitivity_scale=coef.price_sensitivity_scale * (1.0 + self.price_sensitivity_amplitude * wave),
            outside_shift=coef.outside_shift - self.demand_amplitude * wave,
        )
        return Market(segments=market.segments, coefficients=coef), catalog


@dataclass(frozen=True)
class CompetitorDrift:
    """From ``at``, the outside option rises linearly to ``outside_shift`` over ``ramp`` visits."""

    at: int
    ramp: int
    outside_shift: float

    def apply(self, clock: int, market: Market, catalog: Catalog, rng: np.random.Generator) -> tuple[Market, Catalog]:
        if clock < self.at:
            return market, catalog
        level = 1.0 if self.ramp == 0 else min((clock - self.at) / self.ramp, 1.0)
        coef = replace(
            market.coefficients, outside_shift=market.coefficients.outside_shift + level * self.outside_shift
        )
        return Market(segments=market.segments, coefficients=coef), catalog


@dataclass(eq=False)
class CatalogChurnDrift:
    """Each time the clock passes a multiple of ``every``, replace ``fraction`` of the items (see
    :func:`~shopgym.catalog.churn_catalog`: the churns due in one step replace distinct items, in one pass)."""

    every: int
    fraction: float
    params: CatalogParams
    last_period: int = 0

    def apply(self, clock: int, market: Market, catalog: Catalog, rng: np.random.Generator) -> tuple[Market, Catalog]:
        period = clock // self.every
        if period > self.last_period:  # the churns due since the last step, applied together
            catalog = churn_catalog(rng, catalog, self.params, self.fraction, times=period - self.last_period)
            self.last_period = period
        return market, catalog


def build_drift(scenario: Scenario, catalog: Catalog, resolve: Callable[[str], Scenario]) -> list[DriftComponent]:
    """Components for ``scenario.drift``; ``resolve(name)`` returns the target scenario of a switch or shift."""

    def target(name: str) -> Market:
        return compile_market(resolve(name), catalog)

    def component(spec: DriftSpec) -> DriftComponent:
        if isinstance(spec, AbruptSwitch):
            return SwitchDrift(at=spec.at, target=target(spec.to))
        if isinstance(spec, GradualShift):
            return GradualDrift(start=spec.start, end=spec.end, target=target(spec.to))
        if isinstance(spec, Seasonal):
            return SeasonalDrift(spec.period, spec.price_sensitivity_amplitude, spec.demand_amplitude, spec.phase)
        if isinstance(spec, CompetitorEntry):
            return CompetitorDrift(at=spec.at, ramp=spec.ramp, outside_shift=spec.outside_shift)
        if isinstance(spec, CatalogChurn):
            return CatalogChurnDrift(every=spec.every, fraction=spec.fraction, params=scenario.catalog)
        raise TypeError(f"unknown drift spec {spec!r}")

    replacing = sorted(
        (s for s in scenario.drift if isinstance(s, AbruptSwitch | GradualShift)),
        key=lambda s: s.at if isinstance(s, AbruptSwitch) else s.start,
    )
    modifying = [s for s in scenario.drift if not isinstance(s, AbruptSwitch | GradualShift)]
    return [component(s) for s in replacing + modifying]
