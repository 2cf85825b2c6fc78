"""Transfer across markets: pretrain on a source market, then on the target compare the pretrained policy as it
is (zero-shot), the pretrained policy trained further on the target (fine-tuned) and a policy trained on the
target from scratch, several seeds each, with the metrics of Taylor & Stone (2009).

Every training run is a run directory written by :func:`shopgym.experiments.training.train_agent` (logs, checkpoints,
resume), so rerunning into the same folder continues a killed suite. Layout of ``out``::

    pretrain/<source>-seed<k>/         one per source and seed, shared by the pairs with that source
    scratch/<target>-seed<k>/          one per target and seed, shared by the pairs with that target
    finetune/<pair>-seed<k>/           fine-tuned from pretrain/<source>-seed<k>/model
    transfer_<pair>.png, report.md, summary.json (last)

Seed k of the fine-tuned run is paired with seed k of the run from scratch (the same target shoppers and
evaluation shoppers); metrics are computed per pair of runs and summarised over seeds with the interquartile
mean and a 95 % bootstrap interval. With fewer than three seeds the report prints the returns and their
differences with 95 % intervals over the evaluation shoppers instead (from each evaluation's half-width in
``evaluations.csv``), and says so. The figures and ``report.md`` are drawn from the typed summary by
:mod:`shopgym.experiments.transfer_report`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from shopgym.experiments.compare import read_curve
from shopgym.experiments.configs import TrainConfig, TransferConfig, TransferPair, scenario_label
from shopgym.experiments.markets import scenario_digests
from shopgym.experiments.runs import RunDirectory, RunError, slug
from shopgym.experiments.stats import MIN_SEEDS, iqm_summary, shopper_summary
from shopgym.experiments.training import train_or_resume
from shopgym.experiments.transfer_report import plot_pair, render_report
from shopgym.files import write_atomic

__all__ = [
    "PairCurves",
    "PairSummary",
    "TransferSummary",
    "auc_ratio",
    "run_transfer",
    "time_to_threshold",
    "transfer_metrics",
]

log = logging.getLogger("shopgym")


# ---------------------------------------------------------------------- metrics (Taylor & Stone 2009)
def time_to_threshold(steps: np.ndarray, returns: np.ndarray, threshold: float) -> float:
    """Env steps of the first evaluation at which ``returns`` [T] reaches ``threshold``; ``inf`` if it never does."""
    reached = np.flatnonzero(np.asarray(returns) >= threshold)
    return float(np.asarray(steps)[reached[0]]) if reached.size else float("inf")


def auc_ratio(steps: np.ndarray, transfer: np.ndarray, scratch: np.ndarray) -> float:
    """Transfer ratio: (area under the transfer curve − area under the scratch curve) / area under the scratch
    curve, trapezoids over the shared evaluation steps [T]. Positive: transfer earned more along the way."""
    area_transfer = float(np.trapezoid(transfer, steps))
    area_scratch = float(np.trapezoid(scratch, steps))
    return (area_transfer - area_scratch) / abs(area_scratch)


def transfer_metrics(
    steps: np.ndarray, finetuned: np.ndarray, scratch: np.ndarray, threshold: float, source_steps: int
) -> dict[str, float]:
    """The metrics of one pair of runs on a shared evaluation grid ``steps`` [T] (starting at 0):

    - ``jumpstart``: fine-tuned minus scratch at step 0 (the zero-shot policy against an untrained one);
    - ``asymptotic_gain``: fine-tuned minus scratch at the last evaluation;
    - ``auc_ratio``: :func:`auc_ratio`;
    - ``steps_to_threshold_finetuned`` / ``_scratch``: :func:`time_to_threshold` on the target only (source
      training not counted); ``steps_to_threshold_finetuned_with_source`` adds ``source_steps``;
    - ``threshold_fraction``: fine-tuned steps to threshold as a fraction of the target budget (``steps[-1]``).
    Returns are in reward units (profit per shopper)."""
    ft = time_to_threshold(steps, finetuned, threshold)
    return {
        "jumpstart": float(finetuned[0] - scratch[0]),
        "asymptotic_gain": float(finetuned[-1] - scratch[-1]),
        "auc_ratio": auc_ratio(steps, finetuned, scratch),
        "steps_to_threshold_finetuned": ft,
        "steps_to_threshold_finetuned_with_source": ft + source_steps,
        "steps_to_threshold_scratch": time_to_threshold(steps, scratch, threshold),
        "threshold_fraction": ft / float(steps[-1]),
    }


# ---------------------------------------------------------------------- results
class PairCurves(BaseModel):
    """A pair's evaluation returns on the target at the evaluation ``steps`` [T] its runs share: one row [T] per
    seed, fine-tuned and from scratch."""

    model_config = ConfigDict(extra="forbid")

    steps: list[float]
    finetuned: list[list[float]]
    scratch: list[list[float]]


class PairSummary(BaseModel):
    """One source → target pair: each statistic over seeds (``iqm``, ``low``, ``high``, ``n``:
    :func:`~shopgym.experiments.stats.iqm_summary`), the returns and differences over the evaluation shoppers
    (``over_shoppers``: :func:`~shopgym.experiments.stats.shopper_summary`; absent from summaries written before
    it existed), every seed's :func:`transfer_metrics` (None: the threshold was not reached), how many seeds
    reached the threshold and the curves. ``threshold_fraction`` has an interval only when every seed reached it;
    its median may be ``inf``. Returns are profit per shopper on the target."""

    model_config = ConfigDict(extra="forbid")

    name: str
    source: list[str]
    target: str
    threshold: float
    per_seed: list[dict[str, float | None]]
    zero_shot: dict[str, Any]
    finetuned_final: dict[str, Any]
    scratch_final: dict[str, Any]
    over_shoppers: dict[str, dict[str, Any]] = {}
    jumpstart: dict[str, Any]
    asymptotic_gain: dict[str, Any]
    auc_ratio: dict[str, Any]
    threshold_reached: int
    threshold_fraction_median: float
    threshold_fraction: dict[str, Any] | None
    curves: PairCurves

    def shown(self, key: str, seeds: int) -> dict[str, Any]:
        """The summary the report prints for ``key``: over seeds, or with fewer than MIN_SEEDS ``seeds`` over the
        evaluation shoppers where the pair has one (the AUC ratio has none)."""
        if seeds >= MIN_SEEDS or key not in self.over_shoppers:
            return getattr(self, key)
        return self.over_shoppers[key]


class TransferSummary(BaseModel):
    """A transfer suite's results (``summary.json``): its algorithm, env id, seeds and pairs; ``minutes`` is the
    wall time of the run that wrote it."""

    model_config = ConfigDict(extra="forbid")

    algo: str
    env_id: str
    seeds: int
    pairs: list[PairSummary]
    minutes: float


# ---------------------------------------------------------------------- the protocol
def _train(
    path: Path, config: TrainConfig, device: str, progress_bar: bool, hyperparams_file: str | Path | None
) -> Path:
    """Train (or finish, or reuse) the run in ``path``; returns it."""
    train_or_resume(RunDirectory(path), config, device, hyperparams_file, progress_bar)
    return path


def _common_grid(curves: list[tuple[list[int], list[float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Curves cut to the evaluation steps they share: (steps [T], values [n, T])."""
    length = min(len(c[0]) for c in curves)
    steps = np.asarray(curves[0][0][:length], dtype=np.float64)
    for other in curves[1:]:
        if list(other[0][:length]) != list(steps):
            raise RunError("the runs of a transfer pair were evaluated at different steps")
    return steps, np.array([c[1][:length] for c in curves], dtype=np.float64)


def _over_shoppers(
    config: TransferConfig, ft: np.ndarray, sc: np.ndarray, ft_width: np.ndarray, sc_width: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Returns and their differences with 95 % intervals over the evaluation shoppers, from the half-widths of
    every evaluation ([n, T] like the returns); a difference of two evaluations adds their half-widths."""

    def summary(values: np.ndarray, widths: np.ndarray) -> dict[str, Any]:
        return shopper_summary(values.tolist(), widths.tolist(), config.n_eval)

    return {
        "zero_shot": summary(ft[:, 0], ft_width[:, 0]),
        "finetuned_final": summary(ft[:, -1], ft_width[:, -1]),
        "scratch_final": summary(sc[:, -1], sc_width[:, -1]),
        "jumpstart": summary(ft[:, 0] - sc[:, 0], ft_width[:, 0] + sc_width[:, 0]),
        "asymptotic_gain": summary(ft[:, -1] - sc[:, -1], ft_width[:, -1] + sc_width[:, -1]),
    }


def _summarise_pair(
    config: TransferConfig, pair: TransferPair, finetuned: list, scratch: list, widths: tuple[list, list]
) -> PairSummary:
    steps, ft = _common_grid(finetuned)
    steps_scratch, sc = _common_grid(scratch)
    if list(steps) != list(steps_scratch):
        raise RunError(f"pair {pair.name!r}: fine-tuned and scratch runs were evaluated at different steps")
    ft_width, sc_width = (_common_grid(w)[1][:, : steps.size] for w in widths)
    threshold = config.threshold * float(sc[:, -1].mean())
    per_seed = [transfer_metrics(steps, ft[k], sc[k], threshold, config.source_steps) for k in range(len(ft))]
    summary: dict[str, Any] = {
        "name": pair.name,
        "source": [scenario_label(s) for s in pair.source],
        "target": scenario_label(pair.target),
        "threshold": threshold,
        "per_seed": [{k: (v if np.isfinite(v) else None) for k, v in m.items()} for m in per_seed],
        "zero_shot": iqm_summary(ft[:, 0]),
        "finetuned_final": iqm_summary(ft[:, -1]),
        "scratch_final": iqm_summary(sc[:, -1]),
        "over_shoppers": _over_shoppers(config, ft, sc, ft_width, sc_width),
    }
    for key in ("jumpstart", "asymptotic_gain", "auc_ratio"):
        summary[key] = iqm_summary([m[key] for m in per_seed])
    fractions = np.array([m["threshold_fraction"] for m in per_seed])
    reached = np.isfinite(fractions)
    summary["threshold_reached"] = int(reached.sum())
    summary["threshold_fraction_median"] = float(np.median(fractions))
    summary["threshold_fraction"] = iqm_summary(fractions) if reached.all() else None
    summary["curves"] = {"steps": steps.tolist(), "finetuned": ft.tolist(), "scratch": sc.tolist()}
    return PairSummary(**summary)


def run_transfer(
    config: TransferConfig,
    out: str | Path,
    device: str = "auto",
    progress_bar: bool = False,
    hyperparams: str | Path | None = None,
) -> TransferSummary:
    """Run (or continue) the transfer suite ``config`` in the folder ``out``; returns the summary, also written to
    ``summary.json`` (last)."""
    root = RunDirectory(out)
    root.begin(config.model_dump(mode="json"), "transfer suite", device, scenario_digests(config))
    started = time.perf_counter()
    common = {"algo": config.algo, "env": config.env, "n_eval": config.n_eval, "eval_seed": config.eval_seed}
    pairs = []
    for pair in config.pairs:
        source_name = "+".join(slug(scenario_label(s)) for s in pair.source)
        target_name = slug(scenario_label(pair.target))
        finetuned, scratch, widths = [], [], ([], [])
        for seed in range(config.seeds):
            pretrained = _train(
                root.path / "pretrain" / f"{source_name}-seed{seed}",
                TrainConfig(
                    **common,
                    scenario=pair.source[0],
                    train_mix=pair.source[1:],
                    seed=seed,
                    n_timesteps=config.source_steps,
                    eval_freq=config.source_steps,
                    checkpoint_freq=0,
                ),
                device,
                progress_bar,
                hyperparams,
            )
            target = {
                **common,
                "scenario": pair.target,
                "seed": seed,
                "n_timesteps": config.target_steps,
                "eval_freq": config.eval_freq,
                "checkpoint_freq": 0,
            }
            ft_run = _train(
                root.path / "finetune" / f"{slug(pair.name)}-seed{seed}",
                TrainConfig(**target, init_from=str(pretrained / "model")),
                device,
                progress_bar,
                hyperparams,
            )
            sc_run = _train(
                root.path / "scratch" / f"{target_name}-seed{seed}",
                TrainConfig(**target),
                device,
                progress_bar,
                hyperparams,
            )
            finetuned.append(read_curve(ft_run))
            scratch.append(read_curve(sc_run))
            widths[0].append(read_curve(ft_run, "ci95_half_width"))
            widths[1].append(read_curve(sc_run, "ci95_half_width"))
        summary = _summarise_pair(config, pair, finetuned, scratch, widths)
        plot_pair(root.path / f"transfer_{slug(pair.name)}.png", summary)
        pairs.append(summary)
    minutes = (time.perf_counter() - started) / 60
    result = TransferSummary(algo=config.algo, env_id=config.env, seeds=config.seeds, pairs=pairs, minutes=minutes)
    write_atomic(root.path / "report.md", render_report(config, result))
    root.write_json("summary.json", result.model_dump())
    return result
