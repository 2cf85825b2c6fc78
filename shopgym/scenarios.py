"""Named market presets, and saving / loading scenarios as YAML.

Each preset is a :class:`~shopgym.params.Scenario` that differs from ``default`` in ways that change what a
good policy does: price level and sensitivity, promotion affinity, loss aversion versus gain seeking, fatigue,
churn, segment mix and catalog size. Use them by name: ``gymnasium.make("shopgym/Marketing-v1",
scenario="fashion")``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from shopgym.files import read_yaml, write_atomic
from shopgym.params import ParameterError, Scenario, SegmentParams, clip, validate_scenario

__all__ = [
    "CALIBRATED",
    "PRESET_DIR",
    "SCENARIOS",
    "content_digest",
    "get_scenario",
    "list_scenarios",
    "load_scenario",
    "preset_provenance",
    "read_provenance",
    "resolve_scenario",
    "save_scenario",
    "scenario_digest",
    "scenario_from_mapping",
    "scenario_record",
]

_MAINSTREAM = SegmentParams(name="mainstream", weight=0.5)
_BARGAIN = SegmentParams(
    name="bargain_hunters",
    weight=0.3,
    price_sensitivity=7.2,
    promo_affinity=1.0,
    gain_coef=3.0,
    loss_coef=5.0,
    budget_income=25.0,
)
_PREMIUM = SegmentParams(
    name="premium",
    weight=0.2,
    taste_concentration=0.2,
    price_sensitivity=2.0,
    promo_affinity=0.1,
    gain_coef=1.0,
    loss_coef=2.0,
    engagement0=0.7,
    budget_income=80.0,
    budget_cap=600.0,
)


#: The top-level key of a scenario file that says where its values came from (it is not part of the market).
PROVENANCE = "provenance"


def _scenario(**fields: Any) -> Scenario:
    return validate_scenario(fields, where=f"preset {fields.get('name')!r}")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        _scenario(
            name="default",
            description="General merchandise: three segments, loss-averse shoppers, moderate margins.",
            segments=[_MAINSTREAM, _BARGAIN, _PREMIUM],
        ),
        _scenario(
            name="fashion",
            description="Fashion: many categories, strong taste, high margins, fatigue, promotion-hungry "
            "gain-seeking shoppers.",
            catalog={
                "n_items": 2000,
                "n_categories": 16,
                "margin_low": 0.5,
                "margin_high": 0.75,
                "price_log_mean": 3.8,
                "quality_sd": 0.7,
                "catalog_seed": 1,
            },
            segments=[
                {
                    "name": "trend_followers",
                    "weight": 0.5,
                    "taste_concentration": 0.2,
                    "promo_affinity": 1.2,
                    "gain_coef": 4.0,
                    "loss_coef": 2.0,
                    "price_sensitivity": 2.1,
                },
                {
                    "name": "deal_hunters",
                    "weight": 0.35,
                    "price_sensitivity": 4.2,
                    "promo_affinity": 1.5,
                    "gain_coef": 5.0,
                    "loss_coef": 2.5,
                    "budget_income": 30.0,
                },
                {
                    "name": "classic",
                    "weight": 0.15,
                    "taste_concentration": 0.3,
                    "promo_affinity": 0.0,
                    "gain_coef": 1.0,
                    "loss_coef": 3.0,
                    "price_sensitivity": 1.55,
                    "budget_income": 70.0,
                },
            ],
            choice={"affinity_weight": 3.0, "fatigue_weight": 0.6},
            dynamics={"fatigue_decay": 0.8, "taste_drift": 0.08},
        ),
        _scenario(
            name="electronics",
            description="Electronics: expensive items, thin margins, price-sensitive and strongly loss-averse "
            "shoppers, rare purchases.",
            catalog={
                "n_items": 600,
                "n_categories": 6,
                "price_log_mean": 5.5,
                "price_log_sd_between": 0.8,
                "margin_low": 0.08,
                "margin_high": 0.25,
                "quality_sd": 0.8,
                "catalog_seed": 2,
            },
            segments=[
                {
                    "name": "researchers",
                    "weight": 0.6,
                    "price_sensitivity": 15.0,
                    "promo_affinity": 0.3,
                    "gain_coef": 2.0,
                    "loss_coef": 7.0,
                    "budget_income": 120.0,
                    "budget_cap": 2500.0,
                },
                {
                    "name": "enthusiasts",
                    "weight": 0.4,
                    "taste_concentration": 0.15,
                    "price_sensitivity": 6.75,
                    "promo_affinity": 0.6,
                    "gain_coef": 2.0,
                    "loss_coef": 4.0,
                    "budget_income": 250.0,
                    "budget_cap": 4000.0,
                },
            ],
            choice={"purchase_bias": -1.5, "fatigue_weight": 0.1},
            dynamics={"fatigue_decay": 0.5, "churn_max": 0.06},
        ),
        _scenario(
            name="grocery",
            description="Grocery: a large cheap catalog, frequent repeat buying, shoppers habituated to "
            "promotions (gain-seeking), little fatigue, low churn.",
            catalog={
                "n_items": 5000,
                "n_categories": 20,
                "price_log_mean": 1.5,
                "price_log_sd_between": 0.4,
                "price_log_sd_within": 0.4,
                "margin_low": 0.15,
                "margin_high": 0.4,
                "catalog_seed": 3,
            },
            segments=[
                {
                    "name": "families",
                    "weight": 0.6,
                    "taste_concentration": 2.0,
                    "price_sensitivity": 9.75,
                    "promo_affinity": 0.8,
                    "gain_coef": 4.0,
                    "loss_coef": 3.0,
                    "budget_income": 15.0,
                    "budget_cap": 80.0,
                    "engagement0": 0.75,
                },
                {
                    "name": "singles",
                    "weight": 0.4,
                    "taste_concentration": 0.8,
                    "price_sensitivity": 6.5,
                    "promo_affinity": 0.6,
                    "gain_coef": 3.0,
                    "loss_coef": 2.5,
                    "budget_income": 10.0,
                    "budget_cap": 60.0,
                    "engagement0": 0.7,
                },
            ],
            choice={"purchase_bias": 0.5, "fatigue_weight": 0.1, "repurchase_penalty": 0.5},  # staples are re-bought
            dynamics={"reference_memory": 0.7, "fatigue_decay": 0.4, "churn_max": 0.05, "taste_drift": 0.02},
        ),
        _scenario(
            name="holiday",
            description="Holiday season: high demand (weak outside option), gift buyers less sensitive to price, "
            "more attention to deals, bigger budgets.",
            segments=[
                _MAINSTREAM.model_copy(update={"price_sensitivity": 2.8, "promo_affinity": 1.0, "budget_income": 70.0}),
                _BARGAIN.model_copy(update={"promo_affinity": 1.6, "gain_coef": 4.0}),
                _PREMIUM.model_copy(update={"budget_income": 140.0}),
            ],
            choice={"outside_utility": 0.3, "purchase_bias": 0.0},
            dynamics={"reference_memory": 0.85},
        ),
        _scenario(
            name="new_market",
            description="A new country: a small catalog, mostly price-sensitive newcomers with low initial "
            "engagement and high churn.",
            catalog={"n_items": 300, "n_categories": 6, "price_log_mean": 3.2, "catalog_seed": 4},
            segments=[
                {
                    "name": "newcomers",
                    "weight": 0.7,
                    "price_sensitivity": 5.45,
                    "promo_affinity": 0.9,
                    "engagement0": 0.35,
                    "gain_coef": 2.5,
                    "loss_coef": 4.0,
                    "budget_income": 25.0,
                },
                _PREMIUM.model_copy(update={"weight": 0.3, "engagement0": 0.5, "price_sensitivity": 1.7}),
            ],
            dynamics={"churn_max": 0.15},
        ),
        _scenario(
            name="recession",
            description="Recession: every segment more price-sensitive and loss-averse, smaller budgets, "
            "stronger pull of the outside option.",
            segments=[
                _MAINSTREAM.model_copy(update={"price_sensitivity": 6.4, "loss_coef": 6.0, "budget_income": 25.0}),
                _BARGAIN.model_copy(
                    update={"weight": 0.5, "price_sensitivity": 10.0, "loss_coef": 7.0, "budget_income": 15.0}
                ),
                _PREMIUM.model_copy(update={"weight": 0.1, "price_sensitivity": 3.6}),
            ],
            choice={"outside_utility": 1.5},
        ),
    ]
}


#: Presets calibrated to data (:mod:`shopgym.calibration`), shipped as YAML with their provenance block and
#: rebuilt by ``shopgym calibrate``.
PRESET_DIR = Path(__file__).parent / "presets"
CALIBRATED = ("zozotown", "tafeng")


def list_scenarios() -> list[str]:
    """Names of the built-in presets: the stylized ones and the calibrated ones."""
    return sorted([*SCENARIOS, *CALIBRATED])


def get_scenario(name: str) -> Scenario:
    """A built-in preset by name; an unknown name raises :class:`ParameterError` listing the known ones."""
    if isinstance(name, str) and name in CALIBRATED:
        return _calibrated(name)
    try:
        return SCENARIOS[name]
    except (KeyError, TypeError):
        raise ParameterError(
            f"unknown scenario {clip(repr(name))}; known scenarios: {', '.join(list_scenarios())}"
        ) from None


@functools.cache
def _calibrated(name: str) -> Scenario:
    return load_scenario(PRESET_DIR / f"{name}.yml")


def preset_provenance(name: str) -> dict[str, Any] | None:
    """Where a preset's values came from: the provenance block of a calibrated preset, None for a stylized one."""
    get_scenario(name)  # the error for an unknown name
    return read_provenance(PRESET_DIR / f"{name}.yml") if name in CALIBRATED else None


def scenario_record(scenario: Scenario) -> dict[str, Any]:
    """``{"name", "sha256", "content"}``: every field of ``scenario`` as JSON (``content``, which
    :func:`resolve_scenario` turns back into the same scenario) and the sha256 of its canonical JSON (sorted keys,
    no spaces), which names this exact market. Saved agents and run folders keep their market this way, so
    moving or editing a scenario file afterwards changes nothing."""
    content = scenario.model_dump(mode="json")
    return {"name": scenario.name, "sha256": content_digest(content), "content": content}


def content_digest(content: dict[str, Any]) -> str:
    """The sha256 of a scenario's content as JSON (:func:`scenario_record`): of its canonical form, sorted keys and
    no spaces."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def scenario_digest(scenario: str | os.PathLike[str] | Scenario | dict[str, Any]) -> str:
    """The sha256 of the market a reference (:func:`resolve_scenario`) names today, as :func:`scenario_record` has
    it: a run that records it can tell whether a preset or file it names has changed (been recalibrated, edited)
    since."""
    return content_digest(resolve_scenario(scenario).model_dump(mode="json"))


def resolve_scenario(scenario: str | os.PathLike[str] | Scenario | dict[str, Any]) -> Scenario:
    """Accept a preset name, a path to a YAML file, a mapping (optionally with ``base: NAME``) or a
    :class:`Scenario`."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return scenario_from_mapping(scenario)
    if isinstance(scenario, os.PathLike) or (isinstance(scenario, str) and scenario.endswith((".yaml", ".yml"))):
        return load_scenario(scenario)
    if isinstance(scenario, str):
        return get_scenario(scenario)
    raise ParameterError(
        f"scenario must be a name, a YAML path, a mapping or a Scenario, got {type(scenario).__name__}"
    )


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read a scenario from YAML (:func:`~shopgym.files.read_yaml`). A top-level ``base: NAME`` starts from that
    preset; a top-level ``provenance`` block (where the values came from) is read by :func:`read_provenance`, not
    here."""
    data = _scenario_file(Path(path))
    data.pop(PROVENANCE, None)
    return scenario_from_mapping(data, where=f"scenario file {str(path)!r}")


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ``provenance`` block of a scenario file (a mapping), or None if it has none."""
    block = _scenario_file(Path(path)).get(PROVENANCE)
    if block is not None and not isinstance(block, dict):
        raise ParameterError(f"scenario file {str(path)!r}: provenance must be a mapping, got {type(block).__name__}")
    return block


def _scenario_file(path: Path) -> dict[str, Any]:
    data = read_yaml(path, "scenario file")
    if not isinstance(data, dict):
        raise ParameterError(f"scenario file {str(path)!r} must hold a mapping of sections, got {type(data).__name__}")
    return data


def scenario_from_mapping(data: dict[str, Any], where: str = "scenario") -> Scenario:
    """A scenario from a mapping of sections; a top-level ``base: NAME`` starts from that preset and the other
    sections update it key by key."""
    data = dict(data)
    base_name = data.pop("base", None)
    if base_name is None:
        return validate_scenario(data, where=where)
    try:
        base = get_scenario(base_name).model_dump(mode="json")
    except ParameterError as error:
        raise ParameterError(f"invalid {where}: base: {error}") from None
    for key, value in data.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return validate_scenario(base, where=where)


def save_scenario(scenario: Scenario, path: str | os.PathLike[str], provenance: dict[str, Any] | None = None) -> None:
    """Write a scenario as YAML atomically (temporary file, then rename), with a ``provenance`` block if given."""
    content = scenario.model_dump(mode="json")
    if provenance is not None:
        content[PROVENANCE] = provenance
    write_atomic(path, yaml.safe_dump(content, sort_keys=False, allow_unicode=True))
