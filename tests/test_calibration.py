"""shopgym.calibration on logs made here: the logged click model recovers known values, simulated logs are
uniform random slates of the core's shoppers, the search finds a known outside utility, and the fidelity report
and the commands write what they say."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shopgym.calibration.clicks import (
    ClickCounts,
    ClickLog,
    _Likelihood,
    calibrate_clicks,
    fit_clicks,
    simulate_impressions,
)
from shopgym.calibration.fidelity import (
    CLICK_STATISTICS,
    FidelityRow,
    Statistic,
    compare,
    compare_again,
    fidelity_records,
    fidelity_table,
    write_report,
)
from shopgym.calibration.store_fit import BLOCKS, KNOBS, START_CYCLES, TARGETS, calibrate_store
from shopgym.calibration.tafeng import TAFENG_START
from shopgym.calibration.transaction_log import TransactionLog
from shopgym.datasets import load_tafeng
from shopgym.params import ParameterError
from shopgym.scenarios import get_scenario, load_scenario, preset_provenance, read_provenance, save_scenario

SMALL = get_scenario("fashion").replace(catalog={"n_items": 40, "n_categories": 8})


def logged_model(alpha: float, theta: float, sigma: float, items: int, rows: int, seed: int) -> ClickLog:
    """A log drawn from the logged click model itself, uniform over items and three slots."""
    rng = np.random.default_rng(seed)
    effect = sigma * rng.standard_normal(items)
    item = rng.integers(0, items, rows)
    position = rng.integers(1, 4, rows)
    logit = alpha - theta * np.log(position) + effect[item]
    return ClickLog(item + 100, position, (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8))


def test_fit_recovers_the_values_a_log_was_drawn_with() -> None:
    fit = fit_clicks(logged_model(-3.0, 0.4, 0.6, items=150, rows=150_000, seed=1))
    for estimate, truth in [(fit.intercept, -3.0), (fit.position_decay, 0.4), (fit.item_sd, 0.6)]:
        assert estimate.low < truth < estimate.high
        assert estimate.high - estimate.low < 0.5
    assert fit.rows == 150_000 and fit.clicks > 5000


def test_an_estimate_on_the_boundary_gets_an_interval_from_zero() -> None:
    """A log with no item spread whose estimate is σ̂ = 0 (this seed): the profile interval starts at the
    boundary and still has width (a Wald interval would have none)."""
    fit = fit_clicks(logged_model(-2.5, 0.0, 0.0, items=50, rows=20_000, seed=1))
    assert fit.item_sd.value == fit.item_sd.low == 0.0 < fit.item_sd.high < 0.3
    assert fit.position_decay.low < 0.0 < fit.position_decay.high


def test_likelihood_gradient_matches_finite_differences() -> None:
    likelihood = _Likelihood(ClickCounts.of(logged_model(-3.0, 0.3, 0.5, 30, 5000, 3)), nodes=801)
    x = np.array([-3.2, 0.2, 0.4])
    _, gradient = likelihood.value_and_gradient(x)
    numeric = [(likelihood(x + h) - likelihood(x - h)) / 2e-5 for h in 1e-5 * np.eye(3)]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-4)


def test_fits_from_every_start_agree_on_a_large_log() -> None:
    """A dense grid, not Gauss–Hermite: with hundreds of clicks per item Gauss–Hermite made the likelihood
    bumpy, and the optimiser stopped at different α̂ from different starts."""
    from shopgym.calibration.clicks import _maximise

    likelihood = _Likelihood(ClickCounts.of(logged_model(-5.5, 0.1, 0.6, 80, 2_000_000, 4)), nodes=801)
    fits = [_maximise(likelihood, np.array(start), {})[0] for start in ([-5.5, 0.1, 0.5], [-5, 0, 0.05], [-6, 0.3, 1])]
    np.testing.assert_allclose(fits[0], fits[1], atol=2e-3)
    np.testing.assert_allclose(fits[0], fits[2], atol=2e-3)


@pytest.mark.parametrize(
    ("log", "message"),
    [
        (ClickLog(np.array([], int), np.array([], int), np.array([], np.int8)), "empty"),
        (ClickLog(np.array([1, 2]), np.array([0, 1]), np.array([0, 1], np.int8)), "position = 0"),
        (ClickLog(np.array([1, 2]), np.array([1, 2]), np.array([0, 0], np.int8)), "no click"),
    ],
)
def test_logs_that_cannot_be_fitted_say_why(log: ClickLog, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        fit_clicks(log)


def test_simulated_logs_are_uniform_random_slates_with_one_click_at_most() -> None:
    log = simulate_impressions(SMALL, 60_000, seed=5)
    assert len(log) == 60_000
    np.testing.assert_array_equal(log.position[:6], [1, 2, 3, 1, 2, 3])
    visits = log.item_id.reshape(-1, 3)
    assert (np.sort(visits, axis=1)[:, 1:] != np.sort(visits, axis=1)[:, :-1]).all()  # distinct items per slate
    shown = np.bincount(log.item_id, minlength=40)
    assert shown.min() > 0.9 * 1500 and shown.max() < 1.1 * 1500  # 60,000 / 40 each
    for slot in range(3):  # every item as often in every slot
        assert abs(np.mean(log.item_id[log.position == slot + 1]) - 19.5) < 0.5
    assert log.click.reshape(-1, 3).sum(axis=1).max() <= 1
    again = simulate_impressions(SMALL, 60_000, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(vars(log).values(), vars(again).values(), strict=True))
    assert not np.array_equal(simulate_impressions(SMALL, 60_000, seed=6).click, log.click)


def test_outside_utility_lowers_the_simulated_click_rate() -> None:
    rates = [
        simulate_impressions(SMALL.replace(choice={"outside_utility": u}), 30_000, seed=0).click_rate for u in (1, 3, 5)
    ]
    assert rates[0] > rates[1] > rates[2] > 0


def test_search_finds_the_outside_utility_a_log_was_simulated_with() -> None:
    truth = SMALL.replace(choice={"outside_utility": 3.5, "position_decay": 0.4})
    real = simulate_impressions(truth, 300_000, seed=11)
    result = calibrate_clicks(real, SMALL, seed=0, simulated_rows=300_000, iterations=6)
    assert result.scenario.choice.outside_utility == pytest.approx(3.5, abs=0.15)
    assert result.scenario.choice.position_decay == pytest.approx(0.4, abs=0.15)
    assert result.scenario.catalog.n_items == 40
    assert 1 <= len(result.path) <= 6
    last = result.path[-1]
    assert (last[0], last[1]) == (result.scenario.choice.outside_utility, result.scenario.choice.position_decay)


def test_item_resample_keeps_each_items_rows_together_and_counts_repeats_as_new_items() -> None:
    log = ClickLog(np.array([7, 7, 7, 9, 5, 5]), np.array([1, 2, 3, 1, 1, 2]), np.array([1, 0, 0, 0, 1, 1], np.int8))
    rng = np.random.default_rng(0)
    for _ in range(20):
        resample = log.resample(rng)
        sizes = np.bincount(resample.item_id)
        assert sizes.size == 3 and set(sizes) <= {1, 2, 3}  # three draws, each an item with its own rows
        assert len(resample) == sizes.sum()


def test_compare_reports_intervals_and_overlap() -> None:
    real = logged_model(-3.0, 0.2, 0.3, 40, 20_000, 1)
    same = [logged_model(-3.0, 0.2, 0.3, 40, 20_000, seed) for seed in range(10, 30)]
    other = [logged_model(-1.0, 0.2, 0.3, 40, 20_000, seed) for seed in range(10, 30)]
    rate = Statistic("click rate", lambda log: log.click_rate, percent=True)
    [row] = compare([rate], real, same, bootstrap=200)
    assert row.real_ci[0] < row.real < row.real_ci[1] and row.within
    assert row.simulated_ci[0] <= row.simulated <= row.simulated_ci[1]
    [row] = compare([rate], real, other, bootstrap=200)
    assert not row.within
    fixed = Statistic("no interval", lambda log: log.click_rate, resamplable=False, tolerance=0.5)
    [row] = compare([fixed], real, other, bootstrap=20)
    assert np.isnan(row.real_ci).all() and row.within == (abs(row.simulated - row.real) <= 0.5 * row.real)
    undefined = Statistic("never defined on the real log", lambda log: float("nan") if log is real else 1.0)
    [row] = compare([undefined], real, same[:3], bootstrap=20)
    assert row.within is None  # nothing to compare: neither within nor out


DOCS_CALIBRATION = Path(__file__).resolve().parents[1] / "docs" / "calibration"


def _real_intervals(report: Path) -> list[tuple[str, float | None, list]]:
    """(statistic, real value, real interval) of a shipped fidelity.json or of the Ta Feng data report."""
    content = json.loads(report.read_text())
    if report.name == "fidelity.json":
        return [(record["statistic"], record["real"], record["real_ci"]) for record in content]
    rows = [row for window in content["windows"].values() for row in window["statistics"]]
    return [(row["statistic"], row["value"], row["ci"]) for row in rows]


@pytest.mark.parametrize(
    "report",
    [*sorted(DOCS_CALIBRATION.glob("*/fidelity.json")), DOCS_CALIBRATION / "tafeng" / "tafeng.json"],
    ids=lambda path: f"{path.parent.name}/{path.name}",
)
def test_shipped_reports_real_intervals_hold_their_own_estimates(report: Path) -> None:
    """A bootstrap drawn by the wrong unit shifts a statistic: its interval can then exclude the log's own value
    (the Ta Feng report had 14 such rows before statistics of products were resampled by product)."""
    for statistic, real, (low, high) in _real_intervals(report):
        if real is not None and low is not None:
            assert low <= real <= high, (statistic, real, low, high)


def test_report_files_follow_the_schema(tmp_path: Path) -> None:
    rows = [
        FidelityRow("a", 0.5, (0.4, 0.6), 0.55, (0.5, 0.6), True, percent=True),
        FidelityRow("b", 2.0, (1.8, 2.2), 1.0, (0.9, 1.1), False),
        FidelityRow("c", float("nan"), (float("nan"), float("nan")), 1.0, (0.9, 1.1), None),
    ]
    write_report(tmp_path, "title", rows, ["a note"], ["figure.png"])
    records = json.loads((tmp_path / "fidelity.json").read_text())
    assert [set(r) for r in records] == [{"statistic", "real", "real_ci", "simulated", "simulated_ci", "within"}] * 3
    assert records[2]["real"] is None and records[2]["within"] is None and records[0]["real_ci"] == [0.4, 0.6]
    text = (tmp_path / "fidelity.md").read_text()
    assert "| a | 50.00 % |" in text and "**no**" in text and "| n/a |" in text
    assert "1 of 2 statistics within" in text and "1 not defined by the real log" in text
    assert "![figure](figure.png)" in text


def test_compare_again_judges_other_logs_against_the_same_real_side() -> None:
    real = logged_model(-3.0, 0.2, 0.3, 40, 20_000, 1)
    same = [logged_model(-3.0, 0.2, 0.3, 40, 20_000, seed) for seed in range(10, 30)]
    other = [logged_model(-1.0, 0.2, 0.3, 40, 20_000, seed) for seed in range(10, 30)]
    rate = Statistic("click rate", lambda log: log.click_rate, percent=True)
    rows = compare([rate], real, other, bootstrap=200)
    assert compare_again(rows, [rate], same) == compare([rate], real, same, bootstrap=200)  # one rule, one real side
    assert not compare_again(rows, [rate], other)[0].within


def test_a_baseline_adds_its_columns_count_and_record_keys() -> None:
    rows = [
        FidelityRow("a", 0.5, (0.4, 0.6), 0.55, (0.5, 0.6), True, percent=True),
        FidelityRow("b", 2.0, (1.8, 2.2), 1.0, (0.9, 1.1), False),
        FidelityRow("c", float("nan"), (float("nan"), float("nan")), 1.0, (0.9, 1.1), None),
    ]
    past = [replace(rows[0], simulated=0.9, within=False), replace(rows[1], simulated=2.1, within=True), rows[2]]
    text = "\n".join(fidelity_table(rows, ("past", past)))
    assert "| within | past | past within |" in text
    assert "| a | 50.00 % | [40.00 %, 60.00 %] | 55.00 % | [50.00 %, 60.00 %] | yes | 90.00 % | **no** |" in text
    assert "1 of 2 statistics within" in text and "; past: 1 of 2." in text
    records = fidelity_records(rows, ("past", past), window="w")
    assert [r["past_within"] for r in records] == [False, True, None] and records[1]["past"] == 2.1
    assert records[0]["past_range"] == [0.5, 0.6] and records[0]["window"] == "w"
    assert "past" not in fidelity_records(rows)[0]


def test_click_statistics_on_a_tiny_log() -> None:
    log = ClickLog(np.array([1, 1, 2, 3]), np.array([1, 2, 1, 3]), np.array([1, 1, 0, 0], np.int8))
    values = {s.name: s.compute(log) for s in CLICK_STATISTICS}
    assert values["click rate per impression"] == 0.5
    assert values["click rate at position 1"] == 0.5 and values["click rate at position 3"] == 0.0
    assert values["clicks on the top 10 % of items (share)"] == 1.0
    assert values["items with a click (share)"] == pytest.approx(1 / 3)


def test_scenario_files_keep_a_provenance_block_out_of_the_market(tmp_path: Path) -> None:
    path = tmp_path / "calibrated.yml"
    save_scenario(SMALL, path, {"data": "somewhere", "rows": 3})
    assert load_scenario(path) == SMALL
    assert read_provenance(path) == {"data": "somewhere", "rows": 3}
    save_scenario(SMALL, path)
    assert read_provenance(path) is None
    path.write_text(path.read_text() + "provenance: [1, 2]\n")
    with pytest.raises(ParameterError, match="provenance must be a mapping"):
        read_provenance(path)


def test_zozotown_is_a_calibrated_preset_with_its_provenance() -> None:
    scenario = get_scenario("zozotown")
    provenance = preset_provenance("zozotown")
    assert scenario.catalog.n_items == provenance["items"] == 80
    assert provenance["data"].startswith("Open Bandit Dataset") and provenance["rows"] == 10_000
    low, high = provenance["fitted"]["intercept"]["low"], provenance["fitted"]["intercept"]["high"]
    assert low < provenance["fitted"]["intercept"]["value"] < high
    assert preset_provenance("default") is None
    rate = simulate_impressions(scenario, 300_000, seed=0).click_rate
    assert 0.0026 < rate < 0.0051  # the logged click rate's 95 % interval (docs/calibration.md)
    assert math.isclose(scenario.choice.outside_utility, round(scenario.choice.outside_utility, 4))


def test_tafeng_is_a_calibrated_preset_with_its_provenance() -> None:
    from shopgym.calibration.store import StorePolicy, simulate_store
    from shopgym.calibration.store_fit import store_statistics
    from shopgym.calibration.tafeng_fidelity import store_calendar

    scenario = get_scenario("tafeng")
    provenance = preset_provenance("tafeng")
    assert provenance["data"] == "Ta Feng grocery transactions" and provenance["lines"] == 618_702
    segment = scenario.segments[0]
    assert segment.routine_purchase == provenance["fitted"]["segments.routine_purchase"] > 0
    assert segment.visit_interval == provenance["fitted"]["segments.visit_interval"] > 1
    assert set(provenance["statistics"]) == set(TARGETS)
    calendar, _ = store_calendar("tafeng")
    assert [day for day, _ in calendar] == [0, 92] and all(isinstance(p, StorePolicy) for _, p in calendar)
    # the fit's store (its slots, seed, burn-in and thinning) fills baskets as big as the provenance says it did; the
    # preset's values are the fit's rounded to 4 decimals, so the store is not the same to the last line
    kept, days = provenance["fitted"]["store.kept"], provenance["burn_in_days"]
    log = simulate_store(scenario, 92, provenance["shoppers"], provenance["seed"], calendar[0][1], days, kept)
    fitted = provenance["statistics"]["lines per visit"]["simulated"]
    assert abs(store_statistics(log)["lines per visit"] / fitted - 1) < 0.02


def _obd_log_folder(root: Path, seed: int) -> Path:
    """An Open-Bandit-format folder whose logs are simulated from a small scenario (3,000 rows per file)."""
    rng = np.random.default_rng(seed)
    log = simulate_impressions(SMALL.replace(choice={"outside_utility": 2.0}), 3000, seed)
    header = ",timestamp,item_id,position,click,propensity_score\n"
    seconds = np.sort(rng.integers(0, 7 * 86400, len(log)))
    stamps = np.datetime64("2019-11-24T00:00:00") + seconds.astype("timedelta64[s]")
    lines = [
        f"{k},{str(t).replace('T', ' ')}.000000+00:00,{i},{p},{c},0.025\n"
        for k, (t, i, p, c) in enumerate(zip(stamps, log.item_id, log.position, log.click, strict=True))
    ]
    items = ",item_id,item_feature_0\n" + "".join(f"{k},{k},0.0\n" for k in range(40))
    for policy in ("random", "bts"):
        for campaign in ("all", "men", "women"):
            folder = root / policy / campaign
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{campaign}.csv").write_text(header + "".join(lines))
            (folder / "item_context.csv").write_text(items)
    return root


def test_calibrate_and_fidelity_commands(tmp_path: Path) -> None:
    data = _obd_log_folder(tmp_path / "obd", seed=3)
    base = tmp_path / "base.yml"
    save_scenario(SMALL, base)
    scenario = tmp_path / "fitted.yml"
    run = [sys.executable, "-m", "shopgym.experiments.cli"]
    calibrate = [*run, "calibrate", "obd", "--base", str(base), "--name", "tiny", "--path", str(data)]
    done = subprocess.run(
        [*calibrate, "--simulated-rows", "30000", "--out", str(scenario)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and load_scenario(scenario).name == "tiny"
    assert read_provenance(scenario)["rows"] == 3000
    out = tmp_path / "report"
    fidelity = [*run, "fidelity", str(scenario), "obd", "--path", str(data), "--out", str(out)]
    done = subprocess.run([*fidelity, "--replicates", "4", "--bootstrap", "20"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} >= {"fidelity.json", "fidelity.md", "click_rate_by_position.png"}
    assert len(json.loads((out / "fidelity.json").read_text())) == 9


def test_calibrate_and_fidelity_commands_on_transactions(tmp_path: Path) -> None:
    data = _tafeng_file(tmp_path / "ta_feng.csv", seed=1)
    scenario = tmp_path / "store.yml"
    run = [sys.executable, "-m", "shopgym.experiments.cli"]
    calibrate = [*run, "calibrate", "tafeng", "--name", "tiny", "--path", str(data), "--out", str(scenario)]
    done = subprocess.run(
        [*calibrate, "--shoppers", "60", "--steps", "1", "--burn-in", "20"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and load_scenario(scenario).name == "tiny"
    provenance = read_provenance(scenario)
    assert provenance["lines"] == 92 * 20 * 3 and set(provenance["store_policy"]) == {"2000-11-01", "2001-02-01"}
    first, later = provenance["store_policy"].values()
    promotions = [name for name in first if name.startswith("discount_")]
    assert [first[n] for n in promotions] == [later[n] for n in promotions]  # February keeps the long promotions
    assert first["sale_chance"] == 0 < later["sale_chance"]  # and has short sales of its own
    # each block's start and Jacobian in every round of the start, then the joint start, Jacobian and a step
    assert provenance["simulations"] >= START_CYCLES * (len(BLOCKS) + len(KNOBS)) + 1 + len(KNOBS) + 1
    out = tmp_path / "report"
    fidelity = [*run, "fidelity", str(scenario), "tafeng", "--path", str(data), "--out", str(out), "--burn-in", "20"]
    done = subprocess.run([*fidelity, "--replicates", "2", "--bootstrap", "5"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} >= {"fidelity.json", "fidelity.md", "tafeng_fidelity.png"}
    records = json.loads((out / "fidelity.json").read_text())
    assert {r["window"] for r in records} == {"Nov 2000 – Jan 2001", "Feb 2001 (held out)"}
    # the held-out month has the persistence baseline beside it; the fitted months, with no log before them, do not
    assert all(("persistence_within" in r) == (r["window"] == "Feb 2001 (held out)") for r in records)
    held_out = [r for r in records if r["window"] == "Feb 2001 (held out)" and r["within"] is not None]
    assert all(isinstance(r["persistence_within"], bool) for r in held_out)
    assert all(r["tolerance"] > 0 for r in records if r["real"])  # a real 0 has a tolerance of 0, left out
    report = (out / "fidelity.md").read_text()
    assert "under the store policies (shelf and till) in the scenario's provenance" in report
    assert "-item catalog pooled" in report  # a thinned fit: the report pools stores of the scenario's own catalog
    persistent = sum(r["persistence_within"] for r in held_out)
    assert "2001-01-04 to 2001-01-31" in report and f"; persistence: {persistent} of {len(held_out)}." in report


def test_the_persistence_forecast_reads_as_many_days_just_before_the_window() -> None:
    from shopgym.calibration.tafeng import WINDOWS, days_before

    first, last = days_before("Feb 2001 (held out)")
    assert (first, last) == (np.datetime64("2001-01-04"), np.datetime64("2001-01-31"))
    held_out = [np.datetime64(day) for day in WINDOWS["Feb 2001 (held out)"]]
    assert last - first == held_out[1] - held_out[0] and last + 1 == held_out[0]


def test_the_blocks_of_the_start_split_the_knobs_and_the_statistics() -> None:
    knobs = [name for names, _ in BLOCKS for name in names]
    targets = [name for _, statistics in BLOCKS for name in statistics]
    assert sorted(knobs) == sorted(knob.name for knob in KNOBS) and len(set(knobs)) == len(knobs)
    assert sorted(targets) == sorted(TARGETS) and len(set(targets)) == len(targets)
    assert set(TAFENG_START) == {knob.name for knob in KNOBS}  # the Ta Feng fit's start sets every knob
    for knob in KNOBS:
        assert knob.low <= knob.coordinate(TAFENG_START[knob.name]) <= knob.high, knob.name


def test_a_start_without_every_knob_names_what_is_missing(tmp_path: Path) -> None:
    log = TransactionLog.of(load_tafeng(_tafeng_file(tmp_path / "ta_feng.csv", seed=1)))
    start = {name: value for name, value in TAFENG_START.items() if name != "choice.pantry_weight"}
    with pytest.raises(ParameterError, match=r"missing \['choice.pantry_weight'\], unknown \[\]"):
        calibrate_store(log, "grocery", shoppers=10, steps=0, start=start)


def test_pooled_stores_are_other_customers_and_other_products() -> None:
    from shopgym.calibration.store import simulate_store
    from shopgym.calibration.tafeng_fidelity import _pooled

    scenario = get_scenario("tafeng").replace(catalog={"n_items": 400, "n_categories": 20})
    logs = [simulate_store(scenario, 20, 50, seed, burn_in=20) for seed in (0, 1)]
    pooled = _pooled(logs, 400)
    assert len(pooled) == len(logs[0]) + len(logs[1])
    first = np.arange(len(pooled)) < len(logs[0])
    np.testing.assert_array_equal(pooled.product[~first], logs[1].product + 400)  # the second store's own products
    assert not set(pooled.customer[first]) & set(pooled.customer[~first])
    np.testing.assert_array_equal(pooled.paid, np.concatenate([log.paid for log in logs]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["calibrate", "kaggle", "--out", "x.yml"], "unknown data set 'kaggle'; known: obd, tafeng"),
        (["calibrate", "tafeng", "--out", "x.yml", "--shoppers", "0"], "--shoppers must be ≥ 1"),
        (["fidelity", "default", "tafeng", "--out", "r", "--burn-in", "-1"], "--burn-in must be ≥ 0"),
        (["fidelity", "grocery", "tafeng", "--out", "r"], "has no routine lines"),
        (["calibrate", "obd", "--out", "x.yml", "--simulated-rows", "0"], "--simulated-rows must be ≥ 1"),
        (["calibrate", "obd", "--out", "x.yml", "--base", "fashon"], "did you mean 'fashion'"),
        (["fidelity", "zozotown", "obd", "--out", "r", "--replicates", "1"], "--replicates must be ≥ 2"),
        (["fidelity", "default", "obd", "--out", "r", "--path", "nowhere"], "nowhere"),
    ],
)
def test_commands_refuse_bad_input_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shopgym.experiments.cli", *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.startswith("shopgym: error:") and message in done.stderr and "Traceback" not in done.stderr


def _tafeng_file(path: Path, seed: int) -> Path:
    """A Ta Feng-format csv over Nov 2000 – Feb 2001: 20 products sold every day by random customers, at the
    regular price, 10–30 % below it or 20 % above it; a quarter of the lines pay 10 % less at the till."""
    from test_datasets import TAFENG_HEADER

    rng = np.random.default_rng(seed)
    lines = []
    for day in np.arange(np.datetime64("2000-11-01"), np.datetime64("2001-03-01")):
        date = day.astype(object)
        for product in range(20):
            price = (10 + product) * (1 - rng.choice([0, 0, 0, 0.1, 0.3, -0.2]))
            for _ in range(3):
                units = int(rng.integers(1, 4))
                cells = [f"{date.month}/{date.day}/{date.year}", f"{rng.integers(0, 300):08d}", "30-34", "115"]
                cells += [str(100 + product % 5), str(4710000 + product), str(units), str(8 * units)]
                cells.append(f"{round(units * price * (0.9 if rng.random() < 0.25 else 1.0))}")
                lines.append(",".join(f'"{c}"' for c in cells) + "\n")
    path.write_text(TAFENG_HEADER + "".join(lines))
    return path


def test_data_describe_writes_the_tafeng_report(tmp_path: Path) -> None:
    data = _tafeng_file(tmp_path / "ta_feng.csv", seed=0)
    out = tmp_path / "tafeng"
    run = [sys.executable, "-m", "shopgym.experiments.cli", "data", "describe", "tafeng", "--path", str(data)]
    done = subprocess.run([*run, "--out", str(out), "--bootstrap", "5"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "tafeng.json").read_text())
    assert list(report["windows"]) == ["Nov 2000 – Jan 2001", "Feb 2001 (held out)"]
    fitted = report["windows"]["Nov 2000 – Jan 2001"]
    assert fitted["lines"] == 92 * 20 * 3
    values = {row["statistic"]: row for row in fitted["statistics"]}
    assert values["units per line"]["ci"][0] <= values["units per line"]["value"] <= values["units per line"]["ci"][1]
    # the shelf discounts 1/3 of the product-days and the till a quarter of the other lines; 1/6 are raised
    assert values["lines discounted > 2 % below regular (share)"]["value"] == pytest.approx(1 / 2, abs=0.05)
    assert values["lines > 2 % above regular (share)"]["value"] == pytest.approx(1 / 8, abs=0.04)
    held_out = {row["statistic"]: row for row in report["windows"]["Feb 2001 (held out)"]["statistics"]}
    assert held_out["customers of the first 30 days back later (share)"]["value"] is None  # February: 28 days
    assert {"gain", "loss", "loss_aversion"} <= set(fitted["reference_price"])
    assert "| lines per visit |" in (out / "tafeng.md").read_text()
    assert (out / "tafeng_gaps_and_discounts.png").stat().st_size > 10_000
    assert (out / "tafeng_visits_per_day.png").stat().st_size > 10_000
    assert fitted["partly_recorded_days"] == {}  # the same visits every day
    assert "Partly recorded days of Nov 2000 – Jan 2001" in (out / "tafeng.md").read_text()


def test_february_store_search_averages_several_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every point of the later window's store search is the mean of :data:`REPLICATES` stores, seeds ``seed`` on,
    each stepped through the earlier window once and continued from there at every point."""
    from shopgym.calibration import later_policy
    from shopgym.calibration.store import StorePolicy, StoreRun
    from shopgym.calibration.tafeng import tafeng_base, tafeng_windows

    seeds: list[int] = []
    continued: list[int] = []

    class Recorded(StoreRun):
        def __init__(self, scenario: object, days: int, shoppers: int, seed: int, *rest: object) -> None:
            seeds.append(seed)
            super().__init__(scenario, days, shoppers, seed, *rest)

        def with_policy(self, index: int, policy: StorePolicy) -> StoreRun:
            continued.append(self.seed)
            return super().with_policy(index, policy)

    monkeypatch.setattr(later_policy, "StoreRun", Recorded)
    (_, fitted), (_, held) = tafeng_windows(_tafeng_file(tmp_path / "ta_feng.csv", seed=1)).items()
    first_day = int(fitted.day.max()) + 1
    policy = StorePolicy(rise_chance=0.01, checkout_chance=0.1)
    later_policy.calibrate_later_policy(
        held, tafeng_base(), policy, first_day, seed=5, shoppers=40, steps=0, burn_in=20
    )
    assert later_policy.REPLICATES > 1
    assert seeds == [5 + r for r in range(later_policy.REPLICATES)]  # each store stepped once
    points = 1 + len(later_policy.LATER_KNOBS)  # the start and its Jacobian
    assert continued == seeds * points  # every point continues every store
