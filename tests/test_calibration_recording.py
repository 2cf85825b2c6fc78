"""Recording gaps: which days a log holds only part of, and a simulated log recorded through them."""

from __future__ import annotations

import numpy as np

from shopgym.calibration.recording import record, recorded_share
from shopgym.calibration.store import StorePolicy
from shopgym.calibration.tafeng_fidelity import WINDOWS, _simulated_windows
from shopgym.calibration.transaction_log import TransactionLog
from shopgym.scenarios import get_scenario

ORIGIN = np.datetime64("2000-11-06")  # a Monday


def visits_log(per_day: list[int], lines: int = 2) -> TransactionLog:
    """A log of ``per_day[d]`` visits on day d, each by a new customer buying ``lines`` lines."""
    day = np.repeat(np.arange(len(per_day)), per_day)
    customer = np.arange(day.size)
    customer, day = np.repeat(customer, lines), np.repeat(day, lines)
    n = customer.size
    ones = np.ones(n, dtype=np.int64)
    return TransactionLog(customer, day, np.arange(n), ones, ones, np.ones(n), np.ones(n) / 2, origin=ORIGIN)


def four_weeks(**days: int) -> list[int]:
    """Visits per day for 28 days from a Monday: 10 on weekdays, 20 on weekends, ``d<k>=v`` for day k."""
    per_day = [20 if d % 7 in (5, 6) else 10 for d in range(28)]
    for key, value in days.items():
        per_day[int(key[1:])] = value
    return per_day


def test_a_day_with_under_half_its_weekdays_median_visits_is_partly_recorded() -> None:
    share = recorded_share(visits_log(four_weeks(d9=2, d15=6, d20=9)))
    assert share.size == 28
    assert share[9] == 0.2  # a Wednesday with 2 visits against a median of 10
    assert share[20] == 0.45  # a Sunday with 9 visits against the Sundays' 20
    expected = np.ones(28)
    expected[[9, 20]] = share[[9, 20]]
    np.testing.assert_array_equal(share, expected)  # a Tuesday with 6 of 10, and busy weekends, are ordinary days


def test_recording_keeps_each_visit_of_a_day_with_its_share_and_its_lines_together() -> None:
    log = visits_log([400, 400, 400], lines=3)
    share = np.array([1.0, 0.25, 0.0])
    kept = record(log, share, np.random.default_rng(0))
    _, customer, day = kept.visits
    counts = np.bincount(day, minlength=3)
    assert counts[0] == 400 and counts[2] == 0
    assert 60 <= counts[1] <= 140  # Binomial(400, 0.25): mean 100, sd 8.7
    assert np.all(np.bincount(kept.customer)[customer] == 3)  # a kept visit keeps all its lines
    again = record(log, share, np.random.default_rng(0))
    np.testing.assert_array_equal(again.customer, kept.customer)


def test_a_fully_recorded_log_is_left_as_it_is() -> None:
    log = visits_log([5, 5])
    assert record(log, np.ones(2), np.random.default_rng(0)) is log
    assert record(log, np.ones(0), np.random.default_rng(0)) is log  # days past the shares are recorded


def test_the_fidelity_reports_simulated_windows_are_recorded_through_the_real_gaps() -> None:
    market = get_scenario("tafeng")
    days = {
        name: (np.datetime64(last) - np.datetime64(first)).astype(int) + 1 for name, (first, last) in WINDOWS.items()
    }
    shares = {name: np.ones(n) for name, n in days.items()}
    first = next(iter(WINDOWS))
    shares[first][3:6] = 0.0
    args = (market, [(0, StorePolicy())], 1, 400, 0, 30)
    recorded = _simulated_windows(*args, shares)
    whole = _simulated_windows(*args, {name: np.ones(n) for name, n in days.items()})
    assert np.isin(whole[first].day, [3, 4, 5]).any()
    assert not np.isin(recorded[first].day, [3, 4, 5]).any()
    np.testing.assert_array_equal(
        recorded[first].take(np.flatnonzero(recorded[first].day == 7)).paid,
        whole[first].take(np.flatnonzero(whole[first].day == 7)).paid,
    )
