"""A log's recording gaps, and recording a simulated log through them.

Ta Feng's log holds about a tenth of a normal day's visits from 19 to 25 December 2000, and under half from 3 to 7
January and on 24 and 25 January 2001 (the Lunar New Year). Whether the records are lost or the store was
shut, a shopper due on such a day is missing from the log: a weekly shopper's gaps there read as 14 days, and
someone who came twice may read as a one-visit customer. A simulated store records every visit. So that the two
logs are read alike, the fit (:mod:`shopgym.calibration.store_fit`) and the fidelity report record the simulated
log through the real one's gaps: :func:`recorded_share` measures, per day, the share of the usual visits the real
log holds, and :func:`record` keeps each simulated visit of that day with that chance.

A day is partly recorded when it holds under :data:`PARTLY_RECORDED` of the median visits of its weekday in the
log (weekends are busier: Ta Feng's median Sunday has twice a Wednesday's visits); other days count as fully
recorded, so a quiet day's ordinary shortfall is left to the shoppers. On the Lunar New Year the store's shoppers
came earlier instead (22 January had the log's most visits), which recording the simulated log does not model.
"""

from __future__ import annotations

import numpy as np

from shopgym.calibration.transaction_log import TransactionLog

__all__ = ["PARTLY_RECORDED", "record", "recorded_share"]

#: A day holding under this share of its weekday's median visits is partly recorded.
PARTLY_RECORDED = 0.5


def recorded_share(log: TransactionLog, below: float = PARTLY_RECORDED) -> np.ndarray:
    """[days] for days 0 … the log's last day: the share of a day's usual visits the log holds (its visits over
    the median visits of its weekday) where that is under ``below``, else 1."""
    if not len(log):
        return np.ones(0)
    _, _, day = log.visits
    visits = np.bincount(day, minlength=int(log.day.max()) + 1).astype(np.float64)
    weekday = (np.arange(visits.size) + (log.origin - np.datetime64("1970-01-05")).astype(np.int64)) % 7
    usual = np.array([np.median(visits[weekday == w]) if (weekday == w).any() else 0.0 for w in range(7)])[weekday]
    share = np.divide(visits, usual, out=np.ones_like(visits), where=usual > 0)
    return np.where(share < below, share, 1.0)


def record(log: TransactionLog, share: np.ndarray, rng: np.random.Generator) -> TransactionLog:
    """``log`` as a log with the recording gaps ``share`` [days] would hold it: each visit (a customer's lines of a
    day) kept with chance ``share`` of its day (1 past its end); the log itself when every share is 1."""
    if not len(log) or (share >= 1).all():
        return log
    visit, _, day = log.visits
    chance = np.ones(day.size)
    inside = day < share.size
    chance[inside] = share[day[inside]]
    kept = rng.random(day.size) < chance
    return log.take(np.flatnonzero(kept[visit]))
