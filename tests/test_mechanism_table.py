"""The Pricing-v1 mechanism table (experiments/mechanisms.py): the path classifier on hand-made paths, the variants'
settings, and one small real run of the section."""

from __future__ import annotations

import numpy as np
import pytest

from shopgym.experiments.mechanisms import (
    VARIANTS,
    classify_path,
    mechanism_section,
    myopic_outcome,
    optimal_structure,
    solve_market,
    variant_scenario,
)
from shopgym.scenarios import get_scenario

LOW, HIGH = 0.5, 1.5


def test_a_price_held_from_the_first_visit_is_constant_and_interior():
    structure = classify_path([0.85] * 40, LOW, HIGH)
    assert (structure.kind, structure.transient, structure.cycle, structure.interior) == ("constant", 0, (0.85,), True)
    assert structure.describe() == "constant 0.85 (interior)"


def test_a_price_reached_after_a_transient_converges():
    structure = classify_path([1.0, 0.95, 0.9] + [0.85] * 40, LOW, HIGH)
    assert (structure.kind, structure.transient, structure.period) == ("converges", 3, 1)
    assert structure.describe() == "converges → 0.85 in 3 (interior)"


def test_a_repeating_pattern_cycles_with_its_smallest_period():
    structure = classify_path([0.85, 0.85, 0.85, 1.5] * 20, LOW, HIGH)
    assert (structure.kind, structure.period, structure.transient) == ("cycles", 4, 0)
    assert structure.mean_price == pytest.approx((3 * 0.85 + 1.5) / 4)
    assert not structure.interior  # 1.50 is the highest level
    assert structure.describe() == "cycles p=4: 0.85–1.50 (bound)"


def test_a_cycle_after_a_transient_is_found_back_to_where_it_starts():
    structure = classify_path([1.0, 1.0] + [0.9, 1.1] * 30, LOW, HIGH)
    assert (structure.kind, structure.period, structure.transient, structure.interior) == ("cycles", 2, 2, True)
    assert structure.cycle == (0.9, 1.1)


def test_a_steady_state_at_either_end_of_the_levels_is_at_a_bound():
    assert not classify_path([0.5] * 20, LOW, HIGH).interior
    assert classify_path([1.0] + [1.5] * 20, LOW, HIGH).describe() == "converges → 1.50 in 1 (bound)"


def test_a_path_without_a_period_is_irregular():
    structure = classify_path(np.random.default_rng(0).choice([0.8, 0.9, 1.0], 200), LOW, HIGH)
    assert structure.kind == "irregular" and structure.period == 0


def test_a_path_too_short_to_classify_is_refused():
    with pytest.raises(ValueError, match="at least 4 visits"):
        classify_path([1.0, 1.0], LOW, HIGH)


def test_variants_set_what_they_say_in_every_segment():
    preset = get_scenario("default")
    variants = {v.name: v for v in VARIANTS}
    gain_seeking = variant_scenario("default", variants["gain > loss, no deals"])
    for before, after in zip(preset.segments, gain_seeking.segments, strict=True):
        total = before.gain_coef + before.loss_coef
        assert after.promo_affinity == 0.0
        assert (after.gain_coef, after.loss_coef) == pytest.approx((2 * total / 3, total / 3))
        assert after.price_sensitivity == before.price_sensitivity
    symmetric = variant_scenario("default", variants["gain = loss"])
    assert [s.promo_affinity for s in symmetric.segments] == [s.promo_affinity for s in preset.segments]
    assert all(s.gain_coef == s.loss_coef for s in symmetric.segments)
    assert variant_scenario("default", variants["as-is"]).segments == preset.segments
    examined = variant_scenario("default", variants["gain > loss, no deals, examined prices"])
    assert examined.dynamics.unexamined_price_weight == 0.0 and preset.dynamics.unexamined_price_weight == 1.0
    assert examined.segments == gain_seeking.segments


def test_gain_seeking_cycles_are_interior_when_only_examined_prices_form_the_reference():
    """Hu–Chen–Hu with interior prices: on `default` the gain-seeking cycle visits the top level when every shown
    price moves ρ (an unsold price there pumps ρ), and stays strictly inside the levels when only examined prices
    do (ν = 0); the loss-averse path settles at an interior constant either way (Popescu–Wu)."""
    variants = {v.name: v for v in VARIANTS}
    shown = optimal_structure(solve_market(variant_scenario("default", variants["gain > loss, no deals"]), 501))
    examined = optimal_structure(
        solve_market(variant_scenario("default", variants["gain > loss, no deals, examined prices"]), 501)
    )
    assert shown.kind == "cycles" and max(shown.cycle) == pytest.approx(1.5)
    assert examined.kind == "cycles" and examined.interior
    settled = optimal_structure(
        solve_market(variant_scenario("default", variants["loss > gain, no deals, examined prices"]), 501)
    )
    assert settled.kind in ("constant", "converges") and settled.interior


def test_myopic_return_is_at_most_the_optimum():
    solution = solve_market(get_scenario("electronics"), grid_size=401)
    _, myopic_return = myopic_outcome(solution)
    assert myopic_return <= solution.j_star * (1 + 1e-3)


def test_the_section_has_a_table_row_per_preset_and_a_column_per_variant():
    lines = mechanism_section(grid_size=201, presets=["grocery"])
    assert lines[0] == "## Pricing-v1: which mechanism produces which price path"
    header = next(line for line in lines if line.startswith("| preset | as-is"))
    assert header.count("|") == len(VARIANTS) + 2
    rows = [line for line in lines if line.startswith("| `grocery` |")]
    assert len(rows) == 2  # the structure table and the myopic table
    assert rows[0].count("|") == len(VARIANTS) + 2
    assert any(line.startswith("Popescu–Wu") for line in lines)
    assert any(line.startswith("Hu–Chen–Hu") for line in lines)
    assert any(line.startswith("Myopic pricing's mean steady-state price") for line in lines)
