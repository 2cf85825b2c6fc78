"""The transfer suite's figure (each pair's learning curves on the target) and ``report.md``, both drawn from its
typed :class:`~shopgym.experiments.transfer.TransferSummary`. The report states results only: whether they meet
the project's own targets is judged in ``experiments/results/suites.py``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shopgym.experiments.configs import TransferConfig
from shopgym.experiments.plots import plot_learning_curves
from shopgym.experiments.report import figure, table
from shopgym.experiments.runs import slug
from shopgym.experiments.stats import MIN_SEEDS, format_interval, has_interval

if TYPE_CHECKING:  # the runner in transfer.py imports this module
    from shopgym.experiments.transfer import PairSummary, TransferSummary

__all__ = ["plot_pair", "render_report"]

TABLE = ("zero_shot", "finetuned_final", "scratch_final", "jumpstart", "asymptotic_gain")  # besides the AUC ratio


def plot_pair(path: Path, pair: PairSummary) -> None:
    """The learning curves on the target of ``pair`` (fine-tuned, from scratch, zero-shot) with its threshold."""
    steps, ft, sc = (
        np.asarray(c, dtype=np.float64) for c in (pair.curves.steps, pair.curves.finetuned, pair.curves.scratch)
    )
    zero_shot = [(steps, np.full(steps.size, run[0])) for run in ft]
    plot_learning_curves(
        {
            "fine-tuned": [(steps, run) for run in ft],
            "from scratch": [(steps, run) for run in sc],
            "zero-shot (pretrained, not trained on the target)": zero_shot,
        },
        path,
        f"{' + '.join(pair.source)} → {pair.target} ({pair.name})",
        {"threshold: from-scratch final": pair.threshold},
        ylabel="profit per shopper on the target (evaluation)",
    )


def _time_to_threshold(config: TransferConfig, pair: PairSummary) -> str:
    reached, median = pair.threshold_reached, pair.threshold_fraction_median
    if pair.threshold_fraction is not None:
        return format_interval(pair.threshold_fraction, 2)
    if reached == 0:
        return f"not reached (0 of {config.seeds} seeds)"
    if not np.isfinite(median):
        return f"median not reached ({reached} of {config.seeds} seeds reached it)"
    return f"median {median:.2f} ({reached} of {config.seeds} seeds reached it)"


def _reading(config: TransferConfig, p: PairSummary) -> str:
    """One sentence on a pair: the jumpstart against its interval, the time to threshold and the gain."""
    jumpstart = p.shown("jumpstart", config.seeds)
    if not has_interval(jumpstart):
        sign = "no interval"
    elif jumpstart["low"] > 0:
        sign = "its 95 % CI lies above 0"
    elif jumpstart["high"] < 0:
        sign = "its 95 % CI lies below 0"
    else:
        sign = "its 95 % CI includes 0"
    median, reached = p.threshold_fraction_median, p.threshold_reached
    if np.isfinite(median):
        reaches = f"reaches the threshold after a median {median:.2f} of the target budget"
    elif reached == 0:
        reaches = "never reaches the threshold within the target budget"
    else:
        reaches = "does not reach the threshold within the target budget in most seeds"
    return (
        f"- {p.name}: jumpstart {format_interval(jumpstart)} ({sign}); fine-tuning {reaches}"
        f" ({reached} of {config.seeds} seeds reached it); asymptotic gain"
        f" {format_interval(p.shown('asymptotic_gain', config.seeds))}."
    )


def render_report(config: TransferConfig, summary: TransferSummary) -> str:
    """``report.md`` of the suite ``config`` from its ``summary``: results only."""
    pairs, minutes = summary.pairs, summary.minutes
    if config.seeds >= MIN_SEEDS:
        cells = (
            f"Cells: interquartile mean over the {config.seeds} seeds [95 % CI over training seeds, percentile"
            " bootstrap of the IQM]."
        )
    else:
        cells = (
            f"Cells: mean over the {config.seeds} seed(s) [95 % CI over the {config.n_eval:,} evaluation shoppers:"
            " the normal interval of the mean; for jumpstart and asymptotic gain, each a difference of two"
            " evaluations, ± the sum of their half-widths; with several seeds, ± the mean of the seeds'"
            f" half-widths; conservative where not exact]. Intervals over training seeds need at least {MIN_SEEDS}"
            " seeds; the AUC ratio has no other interval (n/a)."
        )
    lines = [
        f"# Transfer: {config.algo.upper()} on {config.env}",
        "",
        f"Pretraining: {config.source_steps:,} env steps on the source. On the target: zero-shot (the pretrained"
        f" policy as it is), fine-tuned ({config.target_steps:,} more steps) and from scratch"
        f" ({config.target_steps:,} steps); {config.seeds} seeds each, evaluated every {config.eval_freq:,} steps on"
        f" the same {config.n_eval:,} target shoppers. {cells}",
        f"Time to threshold: env steps on the target until the evaluation return first reaches"
        f" {config.threshold:g} × the from-scratch final return (mean over seeds), as a fraction of the"
        " target budget (IQM [95 % CI over training seeds] when every seed reaches it); source training is"
        f" **not** counted in it (counting it adds {config.source_steps / config.target_steps:.2f} of the target"
        " budget to every fine-tuned run).",
        f"Wall time: {minutes:.1f} minutes.",
        "",
    ]
    header = ["pair", "zero-shot", "fine-tuned final", "from scratch final", "jumpstart", "asymptotic gain"]
    header += ["AUC ratio", "fine-tuned steps to threshold (fraction of budget)"]
    rows = [
        [
            f"{' + '.join(p.source)} → {p.target} ({p.name})",
            *(format_interval(p.shown(key, config.seeds)) for key in TABLE),
            format_interval(p.auc_ratio, 3),
            _time_to_threshold(config, p),
        ]
        for p in pairs
    ]
    lines += table(header, rows)
    lines += ["", "## Reading the numbers", "", *(_reading(config, p) for p in pairs), ""]
    for p in pairs:
        lines += figure(p.name, f"transfer_{slug(p.name)}.png")
    return "\n".join(lines)
