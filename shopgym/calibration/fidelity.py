"""Real and simulated logs side by side: each statistic with a 95 % interval and a verdict.

For a statistic s and a real log of R rows:

- ``real``: s on the real log; ``real_ci``: the 2.5 and 97.5 percentiles of s over bootstrap resamples of it,
  drawn by the unit the rows depend on through s (items of a click log; customers of a transaction log, or its
  products for a statistic of products' prices, :attr:`Statistic.unit`).
- ``simulated``: the median of s over replicate logs of R rows simulated from the scenario under the real
  log's policy; ``simulated_ci``: their 2.5 and 97.5 percentiles, the range a log like the real one would show if
  the scenario were true. Replicates of the real size keep statistics that depend on the amount of data (how
  many items got a click) comparable.
- ``within``: the two intervals overlap, or the values differ by at most the statistic's tolerance; null where
  the real log does not define the statistic (nothing to compare), and such a row is not counted.

:func:`compare` computes the rows, :func:`compare_again` judges other logs (a baseline's) against the same real side,
and :func:`judge` judges values of the statistics instead (e.g. :func:`resampled_values` of a past log, each statistic
resampled by its unit); :func:`write_report` writes ``fidelity.json`` (a list of ``{statistic, real, real_ci,
simulated, simulated_ci, within}``) and ``fidelity.md``, which shows the figures its caller drew.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import numpy as np

from shopgym.calibration.clicks import ClickLog, fit_clicks
from shopgym.files import write_atomic

if TYPE_CHECKING:
    from typing import Self  # Python 3.11; only an annotation here

__all__ = [
    "CLICK_STATISTICS",
    "FidelityRow",
    "Resamplable",
    "Statistic",
    "bootstrap_statistics",
    "compare",
    "compare_again",
    "fidelity_markdown",
    "fidelity_records",
    "fidelity_table",
    "judge",
    "real_side",
    "resampled_values",
    "show_value",
    "write_report",
]


class Resamplable(Protocol):
    """A log that can be bootstrapped: a resample drawn by a ``unit`` the log's rows depend on through a statistic
    (item; customer, product, category), None for the log's default."""

    def resample(self, rng: np.random.Generator, unit: str | None = None) -> Self: ...


LogT = TypeVar("LogT", bound=Resamplable)


@dataclass(frozen=True)
class Statistic(Generic[LogT]):
    """A named number computed from a log; ``percent`` says to show it ×100 with a % sign."""

    name: str
    compute: Callable[[LogT], float]
    percent: bool = False
    #: the verdict also accepts a simulated value this close to the real one: a share of |real| (``relative``) or
    #: an amount in the statistic's units
    tolerance: float = 0.0
    relative: bool = True
    #: False where resampling the log's units biases the statistic (it counts distinct things across units, which
    #: a resample's repeated units do not add): no bootstrap interval then, and the verdict is the tolerance's
    resamplable: bool = True
    #: the unit a bootstrap resample draws for this statistic (:meth:`Resamplable.resample`; None: the log's
    #: default): the unit whose rows the statistic ties together, e.g. a product for a statistic of its regular price
    unit: str | None = None

    def allowed(self, real: float) -> float:
        """The difference from ``real`` the verdict accepts besides overlapping intervals."""
        return self.tolerance * abs(real) if self.relative else self.tolerance


@dataclass(frozen=True)
class FidelityRow:
    """One statistic of the report (module docstring)."""

    statistic: str
    real: float
    real_ci: tuple[float, float]
    simulated: float
    simulated_ci: tuple[float, float]
    within: bool | None  # None: the real log does not define the statistic, so there is nothing to be within
    percent: bool = False
    tolerance: float = 0.0


def _interval(values: np.ndarray) -> tuple[float, float]:
    if np.isnan(values).all():  # a statistic the log does not define (e.g. retention over a shorter window)
        return float("nan"), float("nan")
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high)


def _table(statistics: Sequence[Statistic[LogT]], logs: Sequence[LogT]) -> np.ndarray:
    """[logs, statistics]: a log at a time, so statistics of one log can share work (a fit)."""
    values = [[statistic.compute(log) for statistic in statistics] for log in logs]
    return np.array(values, dtype=np.float64).reshape(-1, len(statistics))


def resampled_values(
    statistics: Sequence[Statistic[LogT]], log: LogT, count: int, rng: np.random.Generator
) -> np.ndarray:
    """[count, statistics]: each statistic on ``count`` bootstrap resamples of ``log`` drawn by its ``unit`` (the
    units in the order the statistics first name them, each drawing ``count`` resamples from ``rng`` in turn); a
    statistic that is not ``resamplable`` has its value on ``log`` itself in every row."""
    values = np.empty((count, len(statistics)))
    fixed = [k for k, statistic in enumerate(statistics) if not statistic.resamplable]
    if fixed:
        values[:, fixed] = _table([statistics[k] for k in fixed], [log])[0]
    for unit in dict.fromkeys(statistic.unit for statistic in statistics if statistic.resamplable):
        columns = [k for k, s in enumerate(statistics) if s.resamplable and s.unit == unit]
        values[:, columns] = _table([statistics[k] for k in columns], [log.resample(rng, unit) for _ in range(count)])
    return values


def bootstrap_statistics(
    statistics: Sequence[Statistic[LogT]], log: LogT, bootstrap: int = 1000, seed: int = 0
) -> list[tuple[float, tuple[float, float]]]:
    """Each statistic of ``log`` with its 95 % percentile-bootstrap interval (:func:`resampled_values`,
    ``bootstrap`` resamples per unit); nan for a statistic that is not ``resamplable``."""
    boot = resampled_values(statistics, log, bootstrap, np.random.default_rng(seed))
    values = _table(statistics, [log])[0]
    no_interval = (float("nan"), float("nan"))
    return [
        (float(values[k]), _interval(boot[:, k]) if statistic.resamplable else no_interval)
        for k, statistic in enumerate(statistics)
    ]


def compare(
    statistics: Sequence[Statistic[LogT]],
    real: LogT,
    simulated: Sequence[LogT],
    bootstrap: int = 1000,
    seed: int = 0,
) -> list[FidelityRow]:
    """The report's rows: ``real`` is the real log, ``simulated`` replicate logs of the real log's size. A row is
    within when the real interval and the simulated range overlap, or when the simulated median is within the
    statistic's tolerance of the real value; neither (None) when the real log does not define the statistic."""
    return compare_again(real_side(statistics, real, bootstrap, seed), statistics, simulated)


def real_side(
    statistics: Sequence[Statistic[LogT]], real: LogT, bootstrap: int = 1000, seed: int = 0
) -> list[FidelityRow]:
    """Rows with only the real log's values and intervals (:func:`bootstrap_statistics`) filled in, for
    :func:`compare_again` to judge simulated logs against."""
    reals = bootstrap_statistics(statistics, real, bootstrap, seed)
    return [FidelityRow(s.name, value, ci, float("nan"), (float("nan"),) * 2, None) for s, (value, ci) in
            zip(statistics, reals, strict=True)]  # fmt: skip


def compare_again(
    rows: Sequence[FidelityRow], statistics: Sequence[Statistic[LogT]], simulated: Sequence[LogT]
) -> list[FidelityRow]:
    """``rows``' real side (of :func:`real_side` or :func:`compare`, for ``statistics``) against other ``simulated``
    logs, judged by the same rule: e.g. a baseline's logs in the place of the scenario's."""
    return judge(rows, statistics, _table(statistics, simulated))


def judge(rows: Sequence[FidelityRow], statistics: Sequence[Statistic], sims: np.ndarray) -> list[FidelityRow]:
    """``rows``' real side against values [logs, statistics] of the ``statistics`` on other logs (e.g.
    :func:`resampled_values` of a baseline log), by the report's rule (:func:`compare`)."""
    judged = []
    for k, (statistic, row) in enumerate(zip(statistics, rows, strict=True)):
        sim_ci = _interval(sims[:, k])
        median = float(np.nanmedian(sims[:, k])) if not np.isnan(sims[:, k]).all() else float("nan")
        value, real_ci, allowed = row.real, row.real_ci, statistic.allowed(row.real)
        judged.append(
            FidelityRow(
                statistic=statistic.name,
                real=value,
                real_ci=real_ci,
                simulated=median,
                simulated_ci=sim_ci,
                within=None
                if np.isnan(value)
                else bool((real_ci[0] <= sim_ci[1] and sim_ci[0] <= real_ci[1]) or abs(median - value) <= allowed),
                percent=statistic.percent,
                tolerance=allowed,
            )
        )
    return judged


# ---------------------------------------------------------------------------------------------- click statistics
def _ctr(log: ClickLog, position: int | None = None) -> float:
    rows = slice(None) if position is None else log.position == position
    clicks = log.click[rows]
    return float(clicks.mean()) if clicks.size else float("nan")


def top_item_share(log: ClickLog, share: float = 0.1) -> float:
    """Share of the clicks that went to the most-clicked ``share`` of the log's items (nan without clicks)."""
    _, index = np.unique(log.item_id, return_inverse=True)
    per_item = np.sort(np.bincount(index, weights=log.click))[::-1]
    total = per_item.sum()
    return float(per_item[: max(1, round(share * per_item.size))].sum() / total) if total else float("nan")


def clicked_item_share(log: ClickLog) -> float:
    """Share of the log's items with at least one click."""
    _, index = np.unique(log.item_id, return_inverse=True)
    return float((np.bincount(index, weights=log.click) > 0).mean())


_last_fit: list = [None, None]  # (log, its fit): the three fitted statistics of one log share one fit


def _fitted(name: str) -> Callable[[ClickLog], float]:
    def value(log: ClickLog) -> float:
        if not log.click.any():
            return float("nan")
        if _last_fit[0] is not log:
            _last_fit[:] = [log, fit_clicks(log, intervals=False)]
        return float(getattr(_last_fit[1], name).value)

    return value


CLICK_STATISTICS: tuple[Statistic[ClickLog], ...] = (
    Statistic("click rate per impression", _ctr, percent=True),
    *(Statistic(f"click rate at position {p}", lambda log, p=p: _ctr(log, p), percent=True) for p in (1, 2, 3)),
    Statistic("clicks on the top 10 % of items (share)", top_item_share, percent=True),
    Statistic("items with a click (share)", clicked_item_share, percent=True),
)
#: The logged click model's parameters (:mod:`shopgym.calibration.clicks`), as statistics: slower (a fit per
#: resample), so reports bootstrap them fewer times.
CLICK_MODEL_STATISTICS: tuple[Statistic[ClickLog], ...] = (
    Statistic("fitted α (log-odds, top slot)", _fitted("intercept")),
    Statistic("fitted θ (position decay)", _fitted("position_decay")),
    Statistic("fitted σ (item spread, log-odds)", _fitted("item_sd")),
)


# ------------------------------------------------------------------------------------------------------ report
def show_value(value: float | None, percent: bool, digits: str = ".3f") -> str:
    """A statistic's value for a report: ×100 with two decimals and a % sign if ``percent``, else in the format
    ``digits``; "—" where it is undefined (None or nan)."""
    if value is None or not np.isfinite(value):
        return "—"
    return f"{100 * value:.2f} %" if percent else f"{value:{digits}}"


def _show_ci(ci: tuple[float, float], percent: bool) -> str:
    return f"[{show_value(ci[0], percent)}, {show_value(ci[1], percent)}]"


def _verdict(row: FidelityRow) -> str:
    return "n/a" if row.within is None else "yes" if row.within else "**no**"


def _within(rows: Sequence[FidelityRow]) -> tuple[int, int]:
    """(rows within, rows counted): a row the real log does not define is not counted."""
    defined = [row for row in rows if row.within is not None]
    return sum(row.within for row in defined), len(defined)


def fidelity_table(rows: Sequence[FidelityRow], baseline: tuple[str, Sequence[FidelityRow]] | None = None) -> list[str]:
    """The rows as a Markdown table, with a tolerance column where some statistic has one, and the count within.
    ``baseline`` (a name, and rows of :func:`compare_again` for the same statistics) adds its value and verdict as
    two more columns, and its count."""
    tolerant = any(row.tolerance for row in rows)
    head = ["statistic", "real", "real 95 % CI", "simulated", "simulated 95 % range", *(["tolerance"] * tolerant)]
    extra = [] if baseline is None else [baseline[0], f"{baseline[0]} within"]
    lines = [
        "| " + " | ".join([*head, "within", *extra]) + " |",
        "|---|" + "---:|" * (len(head) - 1) + ":---:|" + "---:|:---:|" * (baseline is not None),
    ]
    others = [None] * len(rows) if baseline is None else baseline[1]
    for row, other in zip(rows, others, strict=True):
        cells = [
            row.statistic,
            show_value(row.real, row.percent),
            _show_ci(row.real_ci, row.percent),
            show_value(row.simulated, row.percent),
            _show_ci(row.simulated_ci, row.percent),
            *([f"± {show_value(row.tolerance, row.percent)}"] * tolerant),
            _verdict(row),
            *([] if other is None else [show_value(other.simulated, other.percent), _verdict(other)]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    rule = "the intervals overlap" + (", or the values differ by at most the tolerance" if tolerant else "")
    within, counted = _within(rows)
    undefined = len(rows) - counted
    note = f"; {undefined} not defined by the real log, n/a" if undefined else ""
    if baseline is not None:
        note += f"; {baseline[0]}: {_within(baseline[1])[0]} of {counted}"
    return [*lines, "", f"{within} of {counted} statistics within ({rule}){note}."]


def fidelity_markdown(title: str, rows: Sequence[FidelityRow], notes: Sequence[str], figures: Sequence[str]) -> str:
    """``fidelity.md``: the table of rows, the notes (one paragraph each) and the figures (file names)."""
    lines = [f"# {title}", "", *fidelity_table(rows), ""]
    for note in notes:
        lines += [note, ""]
    for figure in figures:
        lines += [f"![{Path(figure).stem}]({figure})", ""]
    return "\n".join(lines)


def write_report(
    folder: Path, title: str, rows: Sequence[FidelityRow], notes: Sequence[str], figures: Sequence[str]
) -> None:
    """Write ``fidelity.json`` and ``fidelity.md`` into ``folder`` (atomically; figures are written by the caller)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "fidelity.json", json.dumps(fidelity_records(rows), indent=2) + "\n")
    write_atomic(folder / "fidelity.md", fidelity_markdown(title, rows, notes, figures))


def fidelity_records(
    rows: Sequence[FidelityRow], baseline: tuple[str, Sequence[FidelityRow]] | None = None, **extra: str
) -> list[dict]:
    """The rows as ``fidelity.json`` records (``{statistic, real, real_ci, simulated, simulated_ci, within}``, plus
    ``tolerance`` where a statistic has one, and the ``extra`` keys); JSON has no NaN, so undefined values are None.
    ``baseline`` (a name, and rows of :func:`compare_again`) adds ``<name>``, ``<name>_range`` and ``<name>_within``."""

    def number(value: float) -> float | None:
        return float(value) if np.isfinite(value) else None

    others = [None] * len(rows) if baseline is None else baseline[1]
    return [
        {
            **extra,
            "statistic": row.statistic,
            "real": number(row.real),
            "real_ci": [number(v) for v in row.real_ci],
            "simulated": number(row.simulated),
            "simulated_ci": [number(v) for v in row.simulated_ci],
            "within": row.within,
            **({"tolerance": number(row.tolerance)} if row.tolerance else {}),
            **(
                {}
                if other is None or baseline is None
                else {
                    baseline[0]: number(other.simulated),
                    f"{baseline[0]}_range": [number(v) for v in other.simulated_ci],
                    f"{baseline[0]}_within": other.within,
                }
            ),
        }
        for row, other in zip(rows, others, strict=True)
    ]
