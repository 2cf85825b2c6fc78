"""The numeric form of a scenario that the batched core reads on every step.

A :class:`Market` holds the segment table (arrays over segments) and the choice / dynamics coefficients as
plain floats. Drift works on markets: :func:`blend_markets` interpolates two of them (segments are mixed as a
mixture, so shoppers arriving during a shift come from both populations in proportion).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from shopgym.catalog import Appeal, AppealOf, Catalog
from shopgym.params import Scenario

__all__ = ["Coefficients", "Market", "SegmentTable", "blend_markets", "compile_market", "population_appeal"]


@dataclass(frozen=True, eq=False)
class SegmentTable:
    """Segment means as arrays of shape [S] (``centroid``: [S, d] unit-norm taste centres)."""

    weight: np.ndarray
    centroid: np.ndarray
    taste_sd: np.ndarray
    price_sensitivity: np.ndarray
    price_sensitivity_sd: np.ndarray
    promo_affinity: np.ndarray
    promo_affinity_sd: np.ndarray
    gain_coef: np.ndarray
    loss_coef: np.ndarray
    reference_coef_sd: np.ndarray
    reference_price0: np.ndarray
    reference_price_sd: np.ndarray
    trait_correlation: np.ndarray
    consumption_rate: np.ndarray
    engagement0: np.ndarray
    engagement_sd: np.ndarray
    budget_income: np.ndarray
    budget_cap: np.ndarray
    visit_interval: np.ndarray
    visit_interval_sd: np.ndarray
    first_visit_churn: np.ndarray
    topup_chance: np.ndarray
    topup_interval: np.ndarray
    routine_purchase: np.ndarray
    routine_purchase_sd: np.ndarray
    routine_interval_correlation: np.ndarray
    routine_extra_units: np.ndarray
    initial_stock: np.ndarray

    def scaled(self, factor: float) -> SegmentTable:
        return dataclasses.replace(self, weight=self.weight * factor)


@dataclass(frozen=True)
class Coefficients:
    """Scalar choice and dynamics coefficients (see :mod:`shopgym.params` for units)."""

    affinity_weight: float
    outside_utility: float
    engagement_weight: float
    position_decay: float
    fatigue_weight: float
    purchase_bias: float
    purchase_affinity_weight: float
    click_price_share: float
    deal_threshold: float
    deal_saturation: float
    category_nest: float
    slate_nest: float
    inventory_weight: float
    pantry_weight: float
    routine_value_weight: float
    stockpile_rate: float
    max_quantity: float
    repurchase_penalty: float
    reference_memory: float
    unexamined_price_weight: float
    fatigue_decay: float
    fatigue_per_exposure: float
    engagement_gain_purchase: float
    engagement_loss_disappoint: float
    engagement_loss_ignore: float
    churn_min: float
    churn_max: float
    churn_power: float
    taste_drift: float
    wearout_memory: float
    wearout_weight: float
    #: multiplier on every shopper's β (seasonal drift)
    price_sensitivity_scale: float = 1.0
    #: utility added to the outside option (competitor entry, seasonal demand)
    outside_shift: float = 0.0


@dataclass(frozen=True, eq=False)
class Market:
    """Segments plus coefficients: everything of a scenario that can drift."""

    segments: SegmentTable
    coefficients: Coefficients


def _segment_centroids(scenario: Scenario, category_centroid: np.ndarray) -> np.ndarray:
    """Taste centre of each segment: a Dirichlet mix of category centroids [C, d], fixed by them and the name."""
    centroids = []
    for index, segment in enumerate(scenario.segments):
        key = [index, *segment.name.encode()]
        rng = np.random.default_rng(np.random.SeedSequence(key))
        mix = rng.dirichlet(np.full(category_centroid.shape[0], segment.taste_concentration))
        centroid = mix @ category_centroid
        centroids.append(centroid / max(np.linalg.norm(centroid), 1e-12))
    return np.asarray(centroids)


def population_appeal(scenario: Scenario) -> AppealOf:
    """The scenario's population appeal (:class:`~shopgym.catalog.Appeal`), for the catalog's popularity: the
    segment-weighted mean taste times the click's affinity weight."""

    def of(category_centroid: np.ndarray) -> Appeal:
        weight = np.array([s.weight for s in scenario.segments])
        taste = (weight / weight.sum()) @ _segment_centroids(scenario, category_centroid)
        return Appeal(
            taste=scenario.choice.affinity_weight * taste,
            sharpness=scenario.catalog.popularity_sharpness,
            noise=scenario.catalog.popularity_noise,
        )

    return of


def compile_market(scenario: Scenario, catalog: Catalog) -> Market:
    """Turn a validated scenario into arrays and floats for the core."""
    segments = scenario.segments

    def column(name: str) -> np.ndarray:
        return np.array([getattr(s, name) for s in segments], dtype=np.float64)

    weight = column("weight")
    table = SegmentTable(
        weight=weight / weight.sum(),
        centroid=_segment_centroids(scenario, catalog.category_centroid),
        **{f.name: column(f.name) for f in dataclasses.fields(SegmentTable) if f.name not in ("weight", "centroid")},
    )
    values = {**scenario.choice.model_dump(), **scenario.dynamics.model_dump()}
    return Market(segments=table, coefficients=Coefficients(**values))


def blend_markets(a: Market, b: Market, w: float) -> Market:
    """``(1 − w)·a + w·b``: coefficients interpolate, segment mixtures are concatenated with scaled weights."""
    if w <= 0.0:
        return a
    if w >= 1.0:
        return b
    ca, cb = a.coefficients, b.coefficients
    coefficients = Coefficients(
        **{f.name: (1.0 - w) * getattr(ca, f.name) + w * getattr(cb, f.name) for f in dataclasses.fields(Coefficients)}
    )
    sa, sb = a.segments.scaled(1.0 - w), b.segments.scaled(w)
    segments = SegmentTable(
        **{f.name: np.concatenate([getattr(sa, f.name), getattr(sb, f.name)]) for f in dataclasses.fields(SegmentTable)}
    )
    return Market(segments=segments, coefficients=coefficients)
