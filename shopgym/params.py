"""Typed, validated market parameters.

A :class:`Scenario` is one market: its catalog, shopper segments, choice model, dynamics, reward and drift.
Every section is a frozen pydantic model: unknown keys and out-of-range or non-finite values are rejected at
construction with a :class:`ParameterError` naming the field, the value and the allowed range.

Units: prices are in currency units; a *paid fraction* ``x = 1 - discount`` is dimensionless; time is counted in
shopper visits (one env step = one visit).

Longer than the house's 350 lines because every section's fields, ranges and cross-field checks are declared
here together, each with the description the docs and the CLI show; a section is the part to move out if one grows.
"""

from __future__ import annotations

import numbers
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "AbruptSwitch",
    "CatalogChurn",
    "CatalogParams",
    "ChoiceParams",
    "CompetitorEntry",
    "DriftSpec",
    "DynamicsParams",
    "GradualShift",
    "ParameterError",
    "RetrievalParams",
    "RewardParams",
    "Scenario",
    "Seasonal",
    "SegmentParams",
    "check_count",
    "clip",
    "validate_scenario",
]


class ParameterError(ValueError):
    """A parameter is unknown, malformed or out of its allowed range; the message names the field."""


#: Characters of the clauses of one validation error: a file with thousands of bad keys still gives one short line.
_MAX_CLAUSES = 300


_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def clip(text: str, limit: int = 80) -> str:
    """``text`` on one line (line breaks escaped), cut to ``limit`` characters: for echoing input in errors."""
    text = text[: limit + 1].translate(_LINE_BREAKS)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_count(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer in ``[low, high]`` (``high`` None: no upper limit); a bool, a
    float, a string or an integer out of range raises :class:`ParameterError` naming ``name``, value and range."""
    integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if integer and low <= value and (high is None or value <= high):
        return int(value)
    allowed = f"[{low}, {high}]" if high is not None else f"[{low}, ∞)"
    raise ParameterError(f"{name} = {clip(repr(value))} is not an integer in the allowed range {allowed}")


def _model_at(model: type[BaseModel], path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the keys at ``path`` inside ``model`` (list indices are skipped)."""
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        pending, models = [field.annotation], []
        while pending:
            annotation = pending.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                models.append(annotation)
            else:
                pending.extend(get_args(annotation))
        if len(models) != 1:
            return None
        model = models[0]
    return model


def _describe(error: dict[str, Any], model: type[BaseModel] | None = None) -> str:
    field = clip(".".join(str(part) for part in error["loc"]) or "<root>")
    message = clip(error["msg"], 200)
    if error["type"] == "extra_forbidden":
        holder = _model_at(model, tuple(error["loc"][:-1])) if model is not None else None
        allowed = f"; allowed: {', '.join(holder.model_fields)}" if holder is not None else ""
        return f"{field}: unknown key{allowed}"
    value = error.get("input")
    if isinstance(value, dict):
        return f"{field}: {message}"
    return f"{field} = {clip(repr(value))}: {message}"


def format_validation_error(error: ValidationError, where: str, model: type[BaseModel] | None = None) -> ParameterError:
    """Turn a pydantic error into one readable ``ParameterError`` (one clause per bad field); with the ``model``
    that was validated, an unknown key also lists the allowed ones. Echoed values are clipped, and clauses beyond a
    few hundred characters are counted, not listed."""
    errors = error.errors()
    lines: list[str] = []
    length = 0
    for e in errors:
        line = _describe(e, model)
        length += len(line) + 2
        if lines and length > _MAX_CLAUSES:
            break
        lines.append(line)
    more = f"; and {len(errors) - len(lines)} more" if len(lines) < len(errors) else ""
    return ParameterError(f"invalid {where}: " + "; ".join(lines) + more)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, validate_default=True)


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0, le=1e6)]


class CatalogParams(_Section):
    """The items on sale. Items are grouped in categories; embeddings cluster around a category centroid."""

    n_items: int = Field(1000, ge=1, le=1_000_000, description="number of items in the catalog")
    n_categories: int = Field(8, ge=1, le=1000, description="number of categories (≤ n_items)")
    embed_dim: int = Field(16, ge=2, le=256, description="dimension d of the public item embedding")
    cluster_spread: float = Field(0.5, ge=0.0, le=10.0, description="item embedding noise around its category centroid")
    price_log_mean: float = Field(3.5, ge=-5.0, le=12.0, description="mean log list price (currency units)")
    price_log_sd_between: float = Field(0.5, ge=0.0, le=5.0, description="sd of category mean log price")
    price_log_sd_within: float = Field(0.3, ge=0.0, le=5.0, description="sd of log price within a category")
    margin_low: float = Field(0.3, gt=0.0, lt=1.0, description="lowest gross margin 1 - cost/price")
    margin_high: float = Field(0.6, gt=0.0, lt=1.0, description="highest gross margin 1 - cost/price")
    quality_sd: float = Field(0.5, ge=0.0, le=10.0, description="sd of item quality (rating), utility units")
    popularity_sharpness: float = Field(
        1.0,
        ge=0.0,
        le=5.0,
        description="s: popularity ∝ exp(s·(population appeal + noise)); 0 = uniform, 1 = the average shopper's logit",
    )
    popularity_noise: float = Field(
        0.5, ge=0.0, le=10.0, description="sd of what popularity owes to other causes than appeal (utility units)"
    )
    catalog_seed: int | None = Field(
        0, ge=0, description="seed of the catalog draw; None draws the catalog from the env seed"
    )

    @model_validator(mode="after")
    def _check_ranges(self) -> CatalogParams:
        if self.n_categories > self.n_items:
            raise ValueError(f"n_categories ({self.n_categories}) must be ≤ n_items ({self.n_items})")
        if self.margin_low > self.margin_high:
            raise ValueError(f"margin_low ({self.margin_low}) must be ≤ margin_high ({self.margin_high})")
        return self


class SegmentParams(_Section):
    """One shopper segment of the population mixture; individual traits are drawn around these means."""

    name: str = Field("shoppers", min_length=1, max_length=64)
    weight: float = Field(1.0, gt=0.0, le=1e6, description="mixture weight (normalised over segments)")
    taste_concentration: float = Field(
        0.5, gt=0.0, le=100.0, description="Dirichlet concentration of the segment's category mix (small = focused)"
    )
    taste_sd: float = Field(0.3, ge=0.0, le=10.0, description="sd of individual taste around the segment centroid")
    price_sensitivity: float = Field(
        4.0, ge=0.0, le=20.0, description="mean β: utility per unit of log paid fraction ln(price / list price)"
    )
    price_sensitivity_sd: float = Field(0.3, ge=0.0, le=3.0, description="log-normal sd of β across shoppers")
    promo_affinity: float = Field(0.5, ge=-10.0, le=10.0, description="click utility of a discount badge")
    promo_affinity_sd: float = Field(0.2, ge=0.0, le=10.0, description="sd of promotion affinity across shoppers")
    gain_coef: float = Field(2.0, ge=0.0, le=50.0, description="η⁺: utility per unit the paid fraction is below ρ")
    loss_coef: float = Field(4.0, ge=0.0, le=50.0, description="η⁻: utility per unit the paid fraction is above ρ")
    reference_coef_sd: float = Field(0.3, ge=0.0, le=3.0, description="log-normal sd of η⁺ and η⁻ across shoppers")
    reference_price0: float = Field(1.0, gt=0.0, le=2.0, description="mean initial reference price index ρ₀")
    reference_price_sd: float = Field(0.05, ge=0.0, le=1.0, description="sd of ρ₀ across shoppers")
    trait_correlation: float = Field(
        0.5,
        ge=-1.0,
        le=1.0,
        description="correlation of log β with log η⁺, log η⁻ and −ρ₀ (price-sensitive shoppers react more)",
    )
    consumption_rate: Probability = Field(
        0.2, description="share of a category's stock used up per day (more stock, faster use)"
    )
    engagement0: Probability = Field(0.6, description="mean initial engagement e₀ ∈ [0, 1]")
    engagement_sd: float = Field(0.1, ge=0.0, le=1.0, description="sd of initial engagement")
    budget_income: NonNegative = Field(40.0, description="wallet top-up per day (currency units)")
    budget_cap: NonNegative = Field(300.0, description="wallet cap (currency units)")
    visit_interval: float = Field(
        1.0,
        ge=1.0,
        le=365.0,
        description="mean days between a shopper's visits (1: a visit every day, so a visit is the unit of time)",
    )
    visit_interval_sd: float = Field(
        0.0, ge=0.0, le=3.0, description="log-normal sd, across shoppers, of their mean interval above one day"
    )
    first_visit_churn: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="share of new shoppers who leave after their first visit (trial shoppers), besides the churn "
        "hazard",
    )
    topup_chance: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="share of a shopper's returns that are top-up trips, after topup_interval days on average, "
        "instead of the usual interval",
    )
    topup_interval: float = Field(2.0, ge=1.0, le=365.0, description="mean days until a top-up trip")
    routine_purchase: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="chance per visit of a routine line (an item not shown, bought at the shelf price) in a "
        "category with no stock, at list prices; 0: no routine lines",
    )
    routine_purchase_sd: float = Field(
        0.0, ge=0.0, le=5.0, description="log-odds sd, across shoppers, of their routine-line chance (basket size)"
    )
    routine_interval_correlation: float = Field(
        0.0,
        ge=-0.99,
        le=0.99,
        description="correlation, across shoppers, of the log-odds of their routine-line chance with the log of "
        "their mean interval between visits (> 0: those who come often fill smaller baskets)",
    )
    routine_extra_units: float = Field(
        0.0, ge=0.0, le=20.0, description="mean extra units of a routine line (Poisson, capped by max_quantity)"
    )
    initial_stock: float = Field(
        0.5, ge=0.0, le=100.0, description="mean units per category a new shopper has in stock (uniform on [0, 2·x])"
    )


class ChoiceParams(_Section):
    """Click (nested logit over the shown items' categories + leave) then purchase (logit) and quantity model."""

    affinity_weight: float = Field(2.0, ge=0.0, le=50.0, description="a: click utility per unit taste·embedding")
    outside_utility: float = Field(1.0, ge=-20.0, le=20.0, description="utility of leaving without a click")
    engagement_weight: float = Field(1.0, ge=0.0, le=20.0, description="engaged shoppers find leaving less attractive")
    position_decay: float = Field(0.5, ge=0.0, le=20.0, description="θ: slate position bias is -θ·ln(1 + position)")
    fatigue_weight: float = Field(0.3, ge=0.0, le=20.0, description="κ: click utility lost per unit category fatigue")
    purchase_bias: float = Field(-0.5, ge=-20.0, le=20.0, description="log-odds of buying a typical item after a click")
    purchase_affinity_weight: float = Field(1.0, ge=0.0, le=50.0, description="purchase log-odds per unit affinity")
    click_price_share: Probability = Field(
        0.5, description="share α of price sensitivity that acts on the click (the rest on the purchase)"
    )
    deal_threshold: float = Field(
        0.05, ge=0.0, le=1.0, description="d₀: discount below the reference price that goes unnoticed (fraction)"
    )
    deal_saturation: float = Field(
        0.15, gt=0.0, le=10.0, description="d_s: deal response 1 − exp(−(ρ − x − d₀)⁺/d_s) saturates on this scale"
    )
    category_nest: float = Field(
        0.3, gt=0.0, le=1.0, description="λ: nested-logit dissimilarity of items of one category (1 = independent)"
    )
    slate_nest: float = Field(
        0.8, gt=0.0, le=1.0, description="μ ≥ λ: dissimilarity of the categories of a slate (1 = independent)"
    )
    inventory_weight: float = Field(
        1.0, ge=0.0, le=50.0, description="ψ: purchase log-odds lost per unit of the category in stock"
    )
    pantry_weight: float = Field(
        0.0, ge=0.0, le=50.0, description="ψ_p: routine-line log-odds lost per unit in stock over all categories"
    )
    routine_value_weight: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="ω: weight of a category's value (its price log-sum) in the chance of a routine line in it "
        "(1: discounts add lines; 0: they only change which item is bought)",
    )
    stockpile_rate: float = Field(
        4.0, ge=0.0, le=100.0, description="extra units bought ~ Poisson(rate·(ρ − x)⁺): stockpiling on deals"
    )
    max_quantity: int = Field(4, ge=1, le=100, description="most units bought in one purchase")
    repurchase_penalty: float = Field(
        4.0,
        ge=0.0,
        le=50.0,
        description="purchase log-odds lost for an item among the shopper's last purchases (few buy a thing twice)",
    )

    @model_validator(mode="after")
    def _check_nests(self) -> ChoiceParams:
        if self.category_nest > self.slate_nest:
            raise ValueError(
                f"category_nest ({self.category_nest}) must be ≤ slate_nest ({self.slate_nest}) for a nested logit"
            )
        return self


class DynamicsParams(_Section):
    """How a visit changes the shopper."""

    reference_memory: float = Field(0.8, ge=0.0, lt=1.0, description="ζ in ρ ← ζρ + (1 − ζ)x")
    unexamined_price_weight: Probability = Field(
        1.0,
        description="ν: how far a price shown but not clicked moves ρ, relative to a clicked (examined) one; "
        "1: every shown price counts fully, 0: only examined prices form the reference",
    )
    fatigue_decay: Probability = Field(0.7, description="per-visit decay of category fatigue φ")
    fatigue_per_exposure: NonNegative = Field(1.0, description="fatigue added per shown item of a category")
    engagement_gain_purchase: Probability = Field(0.05, description="engagement gained by a purchase")
    engagement_loss_disappoint: Probability = Field(0.03, description="engagement lost by a click without purchase")
    engagement_loss_ignore: Probability = Field(0.01, description="engagement lost when nothing is clicked")
    churn_min: Probability = Field(0.002, description="churn hazard per visit at engagement 1")
    churn_max: Probability = Field(0.08, description="churn hazard per visit at engagement 0")
    churn_power: float = Field(3.0, gt=0.0, le=20.0, description="hazard = min + (max − min)(1 − e)^power")
    taste_drift: Probability = Field(0.05, description="step of taste toward a purchased item's embedding")
    wearout_memory: Probability = Field(0.8, description="decay of the promotion-frequency memory w")
    wearout_weight: Probability = Field(
        0.6, description="ω: the deal response is scaled by 1 − ω·w (w = how often deals were shown lately)"
    )

    @model_validator(mode="after")
    def _check_churn(self) -> DynamicsParams:
        if self.churn_min > self.churn_max:
            raise ValueError(f"churn_min ({self.churn_min}) must be ≤ churn_max ({self.churn_max})")
        return self


class RetrievalParams(_Section):
    """The platform's candidate generator that proposes K items per visit (cheap, no catalog-wide scoring)."""

    explore_fraction: Probability = Field(0.3, description="share of category draws that ignore purchase history")
    popularity_skew: float = Field(2.0, ge=1.0, le=20.0, description="≥ 1; larger favours popular items")


class RewardParams(_Section):
    """Which KPI is the reward. ``clv`` is profit minus ``churn_penalty`` per churned shopper."""

    kind: Literal["profit", "revenue", "clicks", "clv"] = "profit"
    churn_penalty: NonNegative = Field(50.0, description="currency units charged per churn when kind = clv")


class AbruptSwitch(_Section):
    """At market clock ``at`` the market switches to ``to``: its choice and dynamics coefficients apply at once to
    every shopper, and shoppers arriving after it come from its segment mix. The catalog, retrieval, reward and
    drift of ``to`` are not used (catalog changes are :class:`CatalogChurn`'s job)."""

    kind: Literal["switch"] = "switch"
    at: int = Field(ge=0, description="market clock tick of the switch")
    to: str = Field(min_length=1, description="name of the target scenario")


class GradualShift(_Section):
    """Linear interpolation from this market to ``to`` between clock ticks ``start`` and ``end``."""

    kind: Literal["gradual"] = "gradual"
    start: int = Field(ge=0)
    end: int = Field(ge=1)
    to: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check_window(self) -> GradualShift:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be > start ({self.start})")
        return self


class Seasonal(_Section):
    """Sinusoidal season: price sensitivity scales by 1 + a·sin, the outside option shifts by -b·sin."""

    kind: Literal["seasonal"] = "seasonal"
    period: int = Field(ge=2, description="ticks per season cycle")
    price_sensitivity_amplitude: float = Field(0.2, ge=0.0, lt=1.0)
    demand_amplitude: float = Field(0.5, ge=0.0, le=20.0, description="utility units added to clicking at the peak")
    phase: float = Field(0.0, ge=0.0, le=1.0, description="fraction of a period")


class CatalogChurn(_Section):
    """Every ``every`` ticks a ``fraction`` of items is replaced by new draws of the same category."""

    kind: Literal["catalog_churn"] = "catalog_churn"
    every: int = Field(ge=1)
    fraction: float = Field(gt=0.0, le=1.0)


class CompetitorEntry(_Section):
    """A competitor enters at ``at``: the outside option rises by ``outside_shift`` over ``ramp`` ticks."""

    kind: Literal["competitor"] = "competitor"
    at: int = Field(ge=0)
    ramp: int = Field(0, ge=0)
    outside_shift: float = Field(1.0, ge=-20.0, le=20.0)


DriftSpec = Annotated[
    AbruptSwitch | GradualShift | Seasonal | CatalogChurn | CompetitorEntry, Field(discriminator="kind")
]


class Scenario(_Section):
    """One named market: everything the simulator needs besides the task and the seed."""

    name: str = Field("custom", min_length=1, max_length=64)
    description: str = ""
    catalog: CatalogParams = CatalogParams()
    segments: tuple[SegmentParams, ...] = Field((SegmentParams(),), min_length=1, max_length=32)
    choice: ChoiceParams = ChoiceParams()
    dynamics: DynamicsParams = DynamicsParams()
    retrieval: RetrievalParams = RetrievalParams()
    reward: RewardParams = RewardParams()
    drift: tuple[DriftSpec, ...] = ()

    def replace(self, **changes: Any) -> Scenario:
        """A validated copy with top-level sections (or nested dicts of fields) replaced."""
        data = self.model_dump()
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value.model_dump() if isinstance(value, BaseModel) else value
        return validate_scenario(data, where=f"scenario {self.name!r}")


def validate_scenario(data: Any, where: str = "scenario") -> Scenario:
    """Build a :class:`Scenario` from a mapping, raising :class:`ParameterError` on any bad field."""
    if isinstance(data, Scenario):
        return data
    if not isinstance(data, dict):
        raise ParameterError(f"invalid {where}: expected a mapping of sections, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise format_validation_error(error, where, Scenario) from None
