"""What the Ta Feng grocery log says: its statistics per window, with customer-bootstrap intervals, and the
reference-price regression (:mod:`shopgym.calibration.transactions`), written as ``tafeng.json``, ``tafeng.md``
and figures by :func:`describe_tafeng` (``shopgym data describe tafeng``).

The windows are the calibration's: November 2000 to January 2001 (the months a scenario is to be fitted on) and
February 2001 (held out). Simulating transaction logs to compare with them needs store visits spread over days
and baskets of several lines, which the shopper model does not have yet, so this report has no simulated column.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from shopgym.calibration.fidelity import Statistic, bootstrap_statistics, show_value
from shopgym.calibration.transactions import TRANSACTION_STATISTICS, TransactionLog, fit_reference_price, visit_gaps
from shopgym.datasets import load_tafeng
from shopgym.files import write_atomic

__all__ = ["WINDOWS", "describe_tafeng"]

#: The calibration's windows: the fitted months and the held-out month.
WINDOWS = {"Nov 2000 – Jan 2001": ("2000-11-01", "2001-01-31"), "Feb 2001 (held out)": ("2001-02-01", "2001-02-28")}


def _figures(logs: dict[str, TransactionLog], out: Path) -> list[str]:
    fig, (gaps, depth) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, log), color in zip(logs.items(), ("tab:blue", "tab:orange"), strict=False):
        gaps.hist(visit_gaps(log), bins=np.arange(1, 62), density=True, histtype="step", lw=2, color=color, label=name)
        cut = log.unit_price < (1 - 0.02) * log.regular_price
        depth.hist(
            1 - log.unit_price[cut] / log.regular_price[cut], bins=np.linspace(0, 0.6, 31), density=True,
            histtype="step", lw=2, color=color, label=f"{name}: {100 * cut.mean():.1f} % of lines",
        )  # fmt: skip
    gaps.set(xlabel="days between a customer's visits", ylabel="share of gaps (density)", title="Inter-visit gaps")
    depth.set(xlabel="discount below the product's regular price", ylabel="density", title="Discount depth")
    for ax in (gaps, depth):
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "tafeng_gaps_and_discounts.png", dpi=120)
    plt.close(fig)
    return ["tafeng_gaps_and_discounts.png"]


def describe_tafeng(
    out: Path, path: str | os.PathLike[str] | None = None, bootstrap: int = 200, seed: int = 0, memory: float = 0.7
) -> dict:
    """Write the Ta Feng report into ``out`` and return its content: per window, every statistic with a 95 %
    percentile-bootstrap interval over customers (``bootstrap`` resamples), and the reference-price regression
    (smoothing ``memory``) on each window."""
    log = TransactionLog.of(load_tafeng(path))
    logs = {name: log.between(*window) for name, window in WINDOWS.items()}
    statistics: tuple[Statistic[TransactionLog], ...] = TRANSACTION_STATISTICS
    report: dict = {"data": "Ta Feng grocery transactions", "bootstrap": bootstrap, "seed": seed, "windows": {}}
    for name, window in logs.items():
        rows = bootstrap_statistics(statistics, window, bootstrap, seed)
        fit = fit_reference_price(window, memory=memory)
        report["windows"][name] = {
            "dates": list(WINDOWS[name]),
            "lines": len(window),
            "customers": int(np.unique(window.customer).size),
            "statistics": [
                {"statistic": s.name, "value": _number(v), "ci": [_number(c) for c in ci]}
                for s, (v, ci) in zip(statistics, rows, strict=True)
            ],
            "reference_price": {
                "memory": memory,
                "product_days": fit.product_days,
                "products": fit.products,
                **{k: getattr(fit, k).as_dict() for k in ("price_elasticity", "gain", "loss", "loss_aversion")},
            },
        }
    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(logs, out)
    write_atomic(out / "tafeng.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    write_atomic(out / "tafeng.md", _markdown(report, statistics, figures))
    return report


def _number(value: float) -> float | None:  # JSON has no NaN
    return float(value) if np.isfinite(value) else None


def _markdown(report: dict, statistics: tuple[Statistic, ...], figures: list[str]) -> str:
    windows = report["windows"]
    names = list(windows)
    lines = ["# What the Ta Feng log says", "", "| statistic | " + " | ".join(names) + " |"]
    lines.append("|---|" + "---:|" * len(names))
    for k, statistic in enumerate(statistics):
        cells = []
        for name in names:
            row = windows[name]["statistics"][k]
            low, high = (show_value(v, statistic.percent, ".3g") for v in row["ci"])
            cells.append(f"{show_value(row['value'], statistic.percent, '.3g')} [{low}, {high}]")
        lines.append(f"| {statistic.name} | " + " | ".join(cells) + " |")
    sizes = ", ".join(f"{n}: {w['lines']:,} lines of {w['customers']:,} customers" for n, w in windows.items())
    lines += [
        "",
        f"{sizes}. Intervals: 95 % percentile bootstrap over customers ({report['bootstrap']} resamples, seed "
        f"{report['seed']}). A visit is a customer's day in the store (the log has no receipt id).",
        "",
        "## Reference prices (log units sold per product-day, product fixed effects, clustered by product)",
        "",
        "| coefficient | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    labels = {
        "price_elasticity": "log(price / regular price)",
        "gain": "gain: (R − P)⁺ / R",
        "loss": "loss: (P − R)⁺ / R",
        "loss_aversion": "−loss − gain (> 0: loss aversion)",
    }
    for key, label in labels.items():
        cells = [windows[n]["reference_price"][key] for n in names]
        lines.append(
            f"| {label} | " + " | ".join(f"{c['value']:.3f} [{c['low']:.3f}, {c['high']:.3f}]" for c in cells) + " |"
        )
    fits = ", ".join(
        f"{n}: {w['reference_price']['product_days']:,} product-days of {w['reference_price']['products']:,} products"
        for n, w in windows.items()
    )
    lines += ["", f"{fits}; reference smoothing memory {windows[names[0]]['reference_price']['memory']}.", ""]
    lines += [f"![{Path(f).stem}]({f})" for f in figures]
    return "\n".join(lines) + "\n"
