"""The continual-learning findings in words, the figures (R matrices, drift) and ``report.md``, all drawn from a
run's :class:`~shopgym.experiments.continual.summary.ContinualSummary`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from shopgym.experiments.configs import ContinualConfig
from shopgym.experiments.continual.drift import DriftSummary
from shopgym.experiments.continual.summary import ContinualSummary, StrategySummary
from shopgym.experiments.report import figure, table
from shopgym.experiments.stats import MIN_SEEDS, format_interval, has_interval

PROFIT_UNITS = "profit per shopper over one episode (currency units)"


# ---------------------------------------------------------------------------------------------------- findings
def _fmt(stat: dict[str, Any]) -> str:
    return format_interval(stat, 2)


def findings_in_words(
    config: ContinualConfig, strategies: dict[str, StrategySummary], drift: DriftSummary | None
) -> list[str]:
    """One sentence per finding, computed from the numbers."""
    lines = []
    best = max(strategies, key=lambda s: strategies[s].average_performance["iqm"])
    lines.append(
        f"Final average performance A (mean over the {len(config.scenarios)} markets after the last stage) is"
        f" highest for {best}: {_fmt(strategies[best].shown('average_performance', config.seeds))}."
    )
    sequential = [s for s in strategies if strategies[s].sequential]
    if sequential:
        least = min(sequential, key=lambda s: strategies[s].mean_forgetting["iqm"])
        others = ", ".join(f"{s} {_fmt(strategies[s].mean_forgetting)}" for s in sequential if s != least)
        negative = strategies[least].mean_forgetting["iqm"] < 0
        lines.append(
            f"Among the sequential strategies, {least} forgets least: mean forgetting"
            f" {_fmt(strategies[least].mean_forgetting)}"
            + (f" (against {others})" if others else "")
            + ("; negative: its earlier markets ended above their earlier best." if negative else ".")
        )
    if "rehearsal" in strategies and "naive" in strategies:
        r, n = strategies["rehearsal"].mean_forgetting, strategies["naive"].mean_forgetting
        if not (has_interval(r) and has_interval(n)):
            lines.append(
                f"With {config.seeds} seed(s) there are no intervals over seeds: mean forgetting of rehearsal"
                f" {r['iqm']:.2f} against naive {n['iqm']:.2f} is no evidence that either forgets less."
            )
        else:
            overlap = r["low"] <= n["high"] and n["low"] <= r["high"]
            verdict = (
                "overlap: these seeds do not separate rehearsal from naive fine-tuning"
                if overlap
                else f"do not overlap: rehearsal forgets {'less' if r['iqm'] < n['iqm'] else 'more'} than naive"
            )
            lines.append(f"The 95 % CIs of mean forgetting of rehearsal {_fmt(r)} and naive {_fmt(n)} {verdict}.")
    if "naive" in strategies:
        ratios = ", ".join(
            f"{s} {e.compute_vs_naive['env_steps']:.2f}× env steps"
            f" ({e.compute_vs_naive['train_seconds']:.2f}× training time)"
            for s, e in strategies.items()
            if s != "naive"
        )
        if ratios:
            lines.append(f"Training compute relative to naive: {ratios}.")
    if drift is not None:
        comparison = drift.after_drift
        if comparison is None:
            lines.append("The drift events lie after the end of the drift phase: no post-drift comparison.")
        else:
            diff = comparison.difference
            sign = "more" if diff["iqm"] > 0 else "less"
            if has_interval(diff):
                excludes = diff["low"] > 0 or diff["high"] < 0
                verdict = f"the 95 % CI over seeds {'excludes' if excludes else 'includes'} 0"
            else:
                verdict = f"no interval over seeds with fewer than {MIN_SEEDS} seeds"
            lines.append(
                f"On the drifting market from clock {comparison.from_clock:,.0f} on, the adapting agent earned"
                f" {_fmt(comparison.adapting)} per visit and the frozen one {_fmt(comparison.frozen)}:"
                f" adapting − frozen = {_fmt(diff)} ({sign} for the adapting agent; {verdict})."
            )
            before = drift.before_drift
            if before is not None:
                drop = comparison.frozen["iqm"] / before.frozen["iqm"] - 1
                lines.append(
                    f"Before the drift (clock {before.from_clock:,.0f} to {before.to_clock:,.0f}) the gap was"
                    f" already {_fmt(before.difference)} per visit, as the adapting agent went on learning: the"
                    " gap after the drift mixes that continued learning with adaptation to the new market. The"
                    f" frozen policy's profit per visit changed by {100 * drop:+.0f} % across the drift."
                )
        if drift.events and drift.pretrain_clock > drift.events[0]["clock"]:
            lines.append(
                f"Pretraining ran to clock {drift.pretrain_clock:,}, past the first drift event at"
                f" {drift.events[0]['clock']:,}: the pretrained policy already saw the changed market."
            )
    return lines


# ---------------------------------------------------------------------------------------------------- figures
def plot_matrices(path: Path, strategies: dict[str, StrategySummary], labels: list[str], seeds: int) -> None:
    """A row of R heatmaps (IQM over seeds), one per strategy, on one colour scale."""
    K, names = len(labels), list(strategies)
    matrices = [np.array(strategies[s].R_iqm) for s in names]
    low, high = min(m.min() for m in matrices), max(m.max() for m in matrices)
    side = 1.0 + 0.75 * K
    fig, axes = plt.subplots(
        1, len(names), figsize=(side * len(names) + 2.5, side + 1.1), dpi=130, squeeze=False, layout="constrained"
    )
    image = None
    for ax, name, matrix in zip(axes[0], names, matrices, strict=True):
        image = ax.imshow(matrix, cmap="viridis", vmin=low, vmax=high)
        for k in range(K):
            for i in range(K):
                bright = (matrix[k, i] - low) / (high - low) > 0.6 if high > low else False
                color = "black" if bright else "white"
                ax.text(i, k, f"{matrix[k, i]:.1f}", ha="center", va="center", fontsize=8, color=color)
        ax.set_xticks(range(K), [f"{i + 1}: {label}" for i, label in enumerate(labels)], rotation=35, ha="right")
        rows = "chunk" if name == "multitask" else "stage"
        ax.set_yticks(range(K), [f"after {rows} {k + 1}" for k in range(K)])
        ax.set_xlabel("evaluated on market i")
        ax.set_title(name if name != "multitask" else "multitask (all markets;\nrows: K equal chunks)", fontsize=10)
    axes[0][0].set_ylabel("after training stage k")
    fig.colorbar(image, ax=axes[0].tolist(), label=f"profit per shopper (currency units)\nIQM over {seeds} seed(s)")
    fig.suptitle("Score on every market after every stage, R[k, i]")
    fig.savefig(path)
    plt.close(fig)


def plot_drift(path: Path, drift: DriftSummary, seeds: int) -> None:
    """Profit per visit against the market clock: shared pretraining, then adapting and frozen, 95 % bands."""
    fig, ax = plt.subplots(figsize=(8.5, 4.8), dpi=130)
    if seeds >= MIN_SEEDS:
        band = f"mean of {seeds} seeds, band: 95 % bootstrap CI over {seeds} seeds"
    else:
        band = f"mean of {seeds} seed(s), no band with fewer than {MIN_SEEDS} seeds"
    for name, edges, color, label in (
        ("pretrain", drift.pretrain_edges, "grey", "pretraining (shared)"),
        ("adapting", drift.edges, "tab:blue", "adapting (keeps learning)"),
        ("frozen", drift.edges, "tab:orange", "frozen copy (no learning)"),
    ):
        edges = np.array(edges)
        centres = (edges[:-1] + edges[1:]) / 2
        curve = drift.curves[name]
        ax.plot(centres, curve["mean"], color=color, linewidth=2, label=label)
        if seeds >= MIN_SEEDS:
            ax.fill_between(centres, curve["low"], curve["high"], color=color, alpha=0.2)
    for event in (e for e in drift.events if e["clock"] <= drift.end_clock):  # the ones the run reached
        ax.axvline(event["clock"], color="black", linestyle="--", linewidth=1.2)
        ax.annotate(
            f"{event['label']} (clock {event['clock']:,})",
            (event["clock"], 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -12),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlabel("market clock (shopper visits since the market started)")
    ax.set_ylabel("profit per visit (currency units)")
    ax.set_title(f"Drifting market '{drift.scenario}': adapting vs frozen policy\n({band})", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------- report
def _intervals_note(config: ContinualConfig) -> str:
    """What the intervals of the report cover."""
    if config.seeds >= MIN_SEEDS:
        return (
            f"Every metric is the IQM over the {config.seeds} seeds [95 % CI over training seeds, percentile"
            " bootstrap of the IQM]."
        )
    return (
        f"With {config.seeds} seed(s) there are no intervals over training seeds (they need {MIN_SEEDS}): A, BWT"
        f" and FWT are means over seeds [95 % CI over the {config.n_eval:,} evaluation shoppers: ± the mean over"
        " the scores they average of their half-widths, a difference adding both, which is conservative for"
        " scores on the same shoppers]; mean forgetting, a maximum over stages, has no such interval (n/a), nor"
        " do the drift comparisons."
    )


def render_report(config: ContinualConfig, summary: ContinualSummary) -> str:
    """``report.md`` of the run ``config`` from its ``summary``."""
    labels, strategies, drift = summary.scenarios, summary.strategies, summary.drift
    lines = [
        f"# shopgym continual learning: {config.algo.upper()} on {config.env}",
        "",
        f"Markets in training order: {', '.join(f'{i + 1}. `{label}`' for i, label in enumerate(labels))};"
        f" {config.steps_per_stage:,} env steps per stage, {config.seeds} training seed(s). After every stage the"
        f" frozen agent (deterministic actions) is evaluated on every market with the same {config.n_eval:,}"
        f" shoppers (seed {config.eval_seed}); R[k, i] is {PROFIT_UNITS}, b[i] the untrained agent's. Rehearsal"
        f" gives {config.rehearsal_fraction:.0%} of the env slots to earlier markets from stage 2 on, at the same"
        " compute as naive; multitask trains on all markets at once for the same total env steps (an upper"
        " reference: its rows are equal chunks of training, so forgetting and transfer do not apply to it).",
        "",
        "`A = mean_i R[K-1, i]`; forgetting `f_i = max_{i≤k<K-1} R[k, i] − R[K-1, i]`, averaged over `i < K-1`"
        " (Chaudhry et al. 2018; negative: the final score beats the earlier best);"
        " `BWT = mean_{i<K-1} (R[K-1, i] − R[i, i])` and `FWT = mean_{i≥1} (R[i-1, i] − b[i])`"
        " (Lopez-Paz & Ranzato 2017).",
        _intervals_note(config),
        f"Wall time of this invocation (cells finished earlier are read back): {summary.minutes:.1f} minutes.",
        "",
        *figure("R matrices", "matrices.png"),
    ]
    rows = []
    for name, entry in strategies.items():
        cells = [name, _fmt(entry.shown("average_performance", config.seeds))]
        for key in ("mean_forgetting", "backward_transfer", "forward_transfer"):
            cells.append(_fmt(entry.shown(key, config.seeds)) if entry.sequential else "–")
        relative = entry.compute_vs_naive or {}
        cells += [f"{relative[k]:.2f}×" if relative else "n/a" for k in ("env_steps", "train_seconds")]
        rows.append(cells)
    header = ["strategy", "A", "mean forgetting", "BWT", "FWT", "env steps vs naive", "training time vs naive"]
    lines += table(header, rows)
    lines += ["", "## Findings", "", *[f"- {line}" for line in summary.findings], ""]
    if drift is not None:
        lines += [
            "## Drifting market",
            "",
            f"One agent per seed trains in `{drift.scenario}` from market clock 0 to {drift.pretrain_clock:,}"
            f" (the configured {config.drift_pretrain_steps:,} env steps rounded down to whole rollouts, at least"
            " one); then the adapting agent keeps training"
            f" to clock {drift.end_clock:,} while a frozen copy of the same weights acts, without learning, in"
            " a copy of the same env (same shoppers, random streams and clock at the split). Both sample their"
            " actions from the policy, as PPO's rollouts do; the curves are the profit each earned per visit in"
            f" windows of the market clock (mean over seeds; from {MIN_SEEDS} seeds on with a band, the 95 %"
            " bootstrap CI over seeds).",
            "",
            *figure("drift", "drift.png"),
        ]
    return "\n".join(lines)
